"""The Evaluator end to end on the simulator: caching, parallel batches, baselines, re-validation, references."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.evaluate.backends import SimBackend
from autocomp.problem import Problem
from tests.fakes.eval_support import PROBLEMS, kernel_source, problem

HONEST = kernel_source("honest/muladd_isa.py")
BASELINE = problem("ew_muladd").baseline_source


def variant(n: int) -> str:
    """A distinct honest candidate (a different unused constant, so a different cache key)."""
    return BASELINE + f"\nUNUSED = {n}\n"


@pytest.fixture(scope="module")
def ev(tmp_path_factory) -> Evaluator:
    return Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path_factory.mktemp("cache"), timeout_s=60)


def copy_problem(tmp_path: Path, name: str, **files: str) -> Problem:
    root = tmp_path / name
    shutil.copytree(PROBLEMS / name, root)
    for filename, text in files.items():
        (root / filename.replace("_py", ".py")).write_text(text)
    return Problem.load(root)


def test_a_correct_candidate_carries_its_evidence(ev):
    r = ev.evaluate(problem("ew_muladd"), HONEST)
    assert r.status == "correct" and r.evidence == "sim" and r.profile["evidence"] == "sim"
    assert r.latency_us == pytest.approx(r.profile["total_time"] * 1e6)
    assert r.baseline_latency_us and r.speedup == pytest.approx(r.baseline_latency_us / r.latency_us)
    assert r.seeds == [0, 1, 2] and len(r.errors) == 3 and all(e.passed for e in r.errors)
    assert r.backend == "sim" and r.tool_version.startswith("autocomp-sim-") and not r.cache_hit
    assert {"process", "check", "total"} <= set(r.timings)


# A candidate that never ends and, unlike kernels/sleep_forever.py (a busy loop, for the time-out tests), leaves the
# CPU to the candidates beside it. The static gate would refuse its import.
SLEEPER = "import time\n" + BASELINE.replace("    out = nl.ndarray", "    time.sleep(3600)\n    out = nl.ndarray")


# Only a guard: had the never-ending kernel held the others up, it times out first and the test fails then, rather
# than hanging. Nothing waits for it otherwise, so it costs no time however busy the machine.
SLOW_GUARD_S = 120.0


def test_a_slow_candidate_does_not_block_the_others(ev, monkeypatch):
    monkeypatch.setattr(ev, "timeout_s", SLOW_GUARD_S)
    monkeypatch.setattr(ev, "static_gate", False)
    sources = [SLEEPER, variant(1), variant(2), variant(3)]
    batch = ev.iter_evaluate(problem("ew_muladd"), sources)
    try:
        first_three = [next(batch) for _ in range(3)]  # the sleeper holds one worker; these ran on the other
    finally:
        batch.close()  # abandoning the batch discards the sleeper's worker
    assert sorted((i, r.status) for i, r in first_three) == [(1, "correct"), (2, "correct"), (3, "correct")]
    assert ev.evaluate(problem("ew_muladd"), variant(4)).status == "correct"  # and the evaluator carries on


def test_identical_candidates_in_a_batch_are_evaluated_once(ev):
    results = ev.evaluate_many(problem("ew_muladd"), [variant(7), variant(7) + "\n# comment\n", variant(8)])
    assert [r.status for r in results] == ["correct"] * 3
    assert [r.cache_hit for r in results] == [False, True, False]
    assert results[0].latency_us == results[1].latency_us


def test_the_cache_survives_the_evaluator_and_is_keyed_by_everything(tmp_path):
    first = Evaluator("sim", workers=1, cache_dir=tmp_path)
    a = first.evaluate(problem("ew_muladd"), HONEST)
    again = first.evaluate(problem("ew_muladd"), HONEST.replace("# Comments and prints are fine.", ""))
    assert not a.cache_hit and again.cache_hit and again.latency_us == a.latency_us
    second = Evaluator("sim", workers=1, cache_dir=tmp_path)
    assert second.evaluate(problem("ew_muladd"), HONEST).cache_hit
    assert not second.evaluate(problem("ew_muladd"), HONEST, seeds=[5, 6, 7]).cache_hit
    second._tool_version = "autocomp-sim-other"  # a new simulator or cost model must not reuse old verdicts
    assert not second.evaluate(problem("ew_muladd"), HONEST).cache_hit


def test_revalidation_uses_fresh_seeds(ev):
    r = ev.revalidate(problem("ew_muladd"), HONEST)
    assert r.status == "correct" and len(r.seeds) == 3 and not set(r.seeds) & {0, 1, 2}
    assert ev.revalidate(problem("ew_muladd"), HONEST, seeds=[11, 12, 13]).seeds == [11, 12, 13]


def test_a_broken_baseline_stops_the_evaluation(tmp_path):
    broken = copy_problem(tmp_path, "ew_muladd", kernel_py=kernel_source("kernels/constant_output.py"))
    with pytest.raises(EvaluatorError, match="baseline kernel fails its own evaluation"):
        Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path).evaluate(broken, HONEST)


def test_references_are_cached_on_disk(tmp_path, monkeypatch):
    Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path).baseline(problem("ew_muladd"))
    assert list((tmp_path / "references" / problem("ew_muladd").content_hash).glob("seed0-*/out0.npy"))
    fresh = Problem.load(PROBLEMS / "ew_muladd")

    def no_reference(*args, **kwargs):
        raise AssertionError("the reference should come from the disk cache")

    monkeypatch.setattr(fresh, "reference_outputs", no_reference)
    assert Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path).evaluate(fresh, HONEST).status == "correct"


def test_check_shapes_problems_are_timed_at_full_size(ev):
    base = ev.baseline(problem("ew_check"))
    assert base.status == "correct"
    assert base.profile["hbm_write_bytes"] == 2048 * 512 * 4  # the full-size output, not the 256x128 check size


INPLACE_KERNEL = '''import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import neuronxcc.nki.typing as nt


@nki.jit
def axpy(x, y: nt.mutable_tensor):
    for i in nl.affine_range(x.shape[0] // 128):
        a = nl.load(x[i * 128:(i + 1) * 128, :])
        b = nl.load(y[i * 128:(i + 1) * 128, :])
        nl.store(y[i * 128:(i + 1) * 128, :], value=nl.add(a, b))
    return y
'''
INPLACE_REFERENCE = '''import numpy as np


def make_inputs(rng):
    return rng.standard_normal((256, 64)).astype(np.float32), rng.standard_normal((256, 64)).astype(np.float32)


def reference(x, y):
    return x.astype(np.float64) + y
'''


def test_inputs_the_baseline_writes_are_owned_the_others_are_not(tmp_path):
    root = tmp_path / "inplace"
    root.mkdir()
    (root / "problem.toml").write_text('name = "inplace"\nfunction = "axpy"\n[tolerance]\nrel_l2 = 1e-5\n'
                                       'atol = 1e-5\nrtol = 1e-5\n')
    (root / "kernel.py").write_text(INPLACE_KERNEL)
    (root / "reference.py").write_text(INPLACE_REFERENCE)
    prob = Problem.load(root)
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path)
    assert ev.baseline(prob).mutated_inputs == [1]
    assert ev.evaluate(prob, INPLACE_KERNEL + "\n# same, in place\n").status == "correct"
    sneaky = INPLACE_KERNEL.replace("def axpy(x, y", "def axpy(x: nt.mutable_tensor, y").replace(
        "    return y", "        nl.store(x[i * 128:(i + 1) * 128, :], value=b)\n    return y, x")
    r = ev.evaluate(prob, sneaky)
    assert r.status == "rejected" and "input 0 was modified" in r.reason


def test_a_speedup_over_10x_is_flagged_for_review(tmp_path):
    slow = BASELINE.replace("    for i in nl.affine_range(a.shape[0] // 128):",
                            "    for _ in range(40):\n      for i in nl.affine_range(a.shape[0] // 128):")
    slow_problem = copy_problem(tmp_path, "ew_muladd", kernel_py=slow)
    r = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path).evaluate(slow_problem, HONEST)
    assert r.status == "correct" and r.speedup > 10
    assert "speedup_over_10x_review" in r.flags


def test_a_latency_faster_than_physics_is_refused(tmp_path):
    from tests.fakes.lying_backend import LyingBackend

    ev = Evaluator(LyingBackend(), workers=1, cache=False, cache_dir=tmp_path)
    with pytest.raises(EvaluatorError, match="below the physical limit"):
        ev.baseline(problem("small_mm"))  # even the baseline cannot be timed faster than its FLOPs and bytes allow


class MeasuredHere(SimBackend):
    """The sim backend, noting where and with what its trusted half was asked to time a candidate."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, object, list[str]]] = []

    def measure(self, request):
        files = sorted(p.name for p in Path(request.artifacts).iterdir())
        self.calls.append((os.getpid(), request, files))
        return super().measure(request)


def test_the_parent_times_the_candidate_from_the_data_the_worker_left(tmp_path):
    backend = MeasuredHere()
    ev = Evaluator(backend, cache=False, cache_dir=tmp_path, workers=1, measure_processes=0)
    r = ev.evaluate(problem("ew_muladd"), HONEST)
    assert r.status == "correct" and r.timings["measure"] > 0
    base_calls = 1  # the baseline was timed the same way
    assert len(backend.calls) == base_calls + 1
    pid, request, files = backend.calls[-1]
    assert pid == os.getpid()  # in the parent (this test keeps it in its threads), never in the worker
    assert request.kernel_lines == HONEST.count("\n") + 1
    assert [(s.shape, s.dtype) for s in request.inputs] == [([256, 128], "float32")] * 2
    assert [(s.shape, s.dtype) for s in request.outputs] == [([256, 128], "float32")]
    assert "trace-check.npz" in files and "report.json" in files
    # Reference outputs stay with the parent: nothing the worker is given or leaves names them.
    assert not [f for f in files if "ref" in f]
    assert str(ev.references.root) not in request.job.model_dump_json()
    ev.close()


def test_an_incorrect_candidate_is_never_timed(tmp_path):
    backend = MeasuredHere()
    ev = Evaluator(backend, cache=False, cache_dir=tmp_path, workers=1, measure_processes=0)
    ev.baseline(problem("ew_muladd"))
    r = ev.evaluate(problem("ew_muladd"), kernel_source("kernels/partial_output.py"))
    assert r.status == "incorrect" and len(backend.calls) == 1 and "measure" not in r.timings
    ev.close()


def test_a_real_error_is_reported_before_any_patch_it_made(tmp_path):
    patch_and_fail = "    nl.add = nl.subtract\n    raise ValueError('tile too large')\n"
    patched_then_failed = BASELINE.replace("    out = nl.ndarray", patch_and_fail + "    out = nl.ndarray")
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, static_gate=False)
    r = ev.evaluate(problem("ew_muladd"), patched_then_failed)
    assert r.status in ("compile_error", "runtime_error") and "ValueError: tile too large" in r.reason


def test_the_cache_key_covers_what_changes_results():
    version = SimBackend().tool_version()
    assert "numpy" in version and "ml_dtypes" in version and "-py3." in version


def test_by_default_the_cost_model_runs_in_trusted_measuring_processes(tmp_path):
    from tests.fakes.lying_backend import WhereMeasured

    ev = Evaluator(WhereMeasured(), cache=False, cache_dir=tmp_path, workers=2)
    results = ev.evaluate_many(problem("ew_muladd"), [variant(31), variant(32), variant(33)])
    assert [r.status for r in results] == ["correct"] * 3
    pids = {r.profile["measured_by"] for r in results}
    assert os.getpid() not in pids and len(pids) <= 2  # the pool's two servers, reused
    for pid in pids:
        assert b"autocomp.evaluate.measurer" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert results[0].latency_us == pytest.approx(ev.baseline(problem("ew_muladd")).latency_us, rel=0.2)
    ev.close()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and b"measurer" in Path(f"/proc/{pid}/cmdline").read_bytes()
              for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}/cmdline").exists() and b"measurer" in Path(f"/proc/{pid}/cmdline").read_bytes()
                   for pid in pids)
