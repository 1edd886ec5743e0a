"""Test data for the run store tests: a tiny real problem, EvalResult-shaped dicts, a run built through the API."""

from __future__ import annotations

from pathlib import Path

from autocomp.llm.service import CallRecord
from autocomp.llm.types import Completion
from autocomp.problem import Problem
from autocomp.store import RunStore

PROBLEM_TOML = """\
name = "vec_add"
description = "out = a + b on a 256 x 512 float32 tile grid"
function = "add_kernel"
target = "trn2"
"""

BASELINE = """\
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def add_kernel(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(x, y))
    return out
"""

# Same work, half the columns per load: more, smaller DMAs (a different timeline).
VARIANT = BASELINE.replace("""        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(x, y))""", """        for j in nl.affine_range(2):
            x = nl.load(a[i * 128:(i + 1) * 128, j * 256:(j + 1) * 256])
            y = nl.load(b[i * 128:(i + 1) * 128, j * 256:(j + 1) * 256])
            nl.store(out[i * 128:(i + 1) * 128, j * 256:(j + 1) * 256], value=nl.add(x, y))""")

REFERENCE = """\
import numpy as np


def make_inputs(rng):
    a = rng.standard_normal((256, 512)).astype(np.float32)
    b = rng.standard_normal((256, 512)).astype(np.float32)
    return a, b


def reference(a, b):
    return a + b
"""


def write_problem(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "problem.toml").write_text(PROBLEM_TOML)
    (root / "kernel.py").write_text(BASELINE)
    (root / "reference.py").write_text(REFERENCE)
    return root


def profile_of(problem, source=None):
    """The cost model's profile of ``source`` (default: the problem's kernel) at the problem's shapes."""
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.perf import profile

    path = problem.kernel_path
    if source is not None:
        path = problem.root.parent / "candidate.py"
        path.write_text(source)
    fn = load_kernel(path, problem.spec.function, problem.spec.target)
    trace = run_kernel(fn, list(problem.input_specs()), target=problem.spec.target, numerics=False).trace
    return profile(trace, problem.spec.target)


def result(status: str = "correct", latency_us: float | None = 10.0, **extra) -> dict:
    """An EvalResult-shaped dict (the store keeps whatever fields it gets)."""
    return {"status": status, "latency_us": latency_us if status == "correct" else None,
            "reason": extra.pop("reason", "ok" if status == "correct" else f"{status} at kernel.py:9"),
            "evidence": "sim", "target": "trn2", **extra}


def call_record(phase: str, model: str = "claude-test", provider: str = "anthropic", cost: float = 0.01,
                tokens: tuple[int, int] = (1000, 200), cache_hit: bool = False, error: str | None = None) -> CallRecord:
    completion = None if error else Completion(
        text=f"answer for {phase}", finish_reason="stop", input_tokens=tokens[0], output_tokens=tokens[1],
        cached_tokens=100, latency_s=1.5, cost_usd=0.0 if cache_hit else cost, provider=provider, model=model,
        cache_hit=cache_hit)
    return CallRecord(phase=phase, sample_index=0, provider=provider, model=model, cache_key="k" * 16,
                      messages=[{"role": "user", "content": f"please {phase}"}], temperature=0.7, max_tokens=4096,
                      completion=completion, error_type="ServerError" if error else None, error=error, attempts=1,
                      started_at=1.0)


def build_run(runs_dir: Path, problem: Problem, *, finish: bool = True) -> Path:
    """baseline -> two iterations of LLM candidates, one failing of each kind, LLM calls in two phases."""
    store = RunStore.create(runs_dir, problem, {"search": {"beam": 2, "iterations": 2}, "llm": {"max_usd": 5.0}},
                            seed=0)
    with store:
        base = store.add_candidate(problem.baseline_source, origin="baseline", iteration=0)
        store.record_evaluation(base, result(latency_us=10.0))
        store.record_beam(0, [base])
        store.record_llm_call(call_record("plan", cost=0.02))
        store.record_llm_call(call_record("implement", model="gpt-test", provider="openai", cost=0.05))
        c2 = store.add_candidate(VARIANT, origin="llm", iteration=1, parent_id=base, plan="split each row tile in two",
                                 prompt=[{"role": "user", "content": "make it faster"}], response="```python\n...```")
        store.record_evaluation(c2, result(latency_us=8.0))
        c3 = store.add_candidate(BASELINE.replace("nl.add", "nl.subtract"), origin="llm", iteration=1,
                                 parent_id=base, plan="subtract instead")
        store.record_evaluation(c3, result("incorrect", reason="max abs error 4.2 at [3, 7]"))
        store.record_beam(1, [c2, base])
        store.record_llm_call(call_record("plan", cache_hit=True))
        store.record_llm_call(call_record("implement", error="server unavailable"))
        c4 = store.add_candidate(VARIANT.replace("nl.add(x, y)", "nl.add(y, x)"), origin="knob", iteration=2,
                                 parent_id=c2, plan="knob: operand order")
        store.record_evaluation(c4, result(latency_us=7.5))
        c5 = store.add_candidate("def add_kernel(:\n", origin="repair", iteration=2, parent_id=c2, plan="broken")
        store.record_evaluation(c5, result("compile_error", reason="kernel.py:1: invalid syntax"))
        store.record_beam(2, [c4, c2])
        if finish:
            store.set_status("finished")
        return store.root
