"""Run directories with hardware (hw) evaluations made by known cost-model parameters, for the
`autocomp calibrate --from-runs` tests: each stored "measurement" is the cost model's estimate of the
kernel under TRUTH, so a fit from the runs must find TRUTH again."""

from __future__ import annotations

from pathlib import Path

from autocomp.perf import profile
from autocomp.perf.calibration import CalibrationFile
from autocomp.problem import Problem
from autocomp.store import RunStore

TRUTH = {"compute_cycle_scale": 1.4, "dma_engine_bytes_per_ns": 11.0}

PROBLEM_TOML = """\
name = "affine"
description = "y = 2x + 1 on an fp32 [256, 1024] matrix"
function = "affine"
dialect = "v1"
target = "{target}"
seeds = [0, 1, 2]
timeout_s = 120

[tolerance]
rel_l2 = 1e-5
atol = 1e-5
rtol = 1e-5
"""

REFERENCE = """\
import numpy as np


def make_inputs(rng):
    return (rng.standard_normal((256, 1024)).astype(np.float32),)


def reference(x):
    return 2.0 * x.astype(np.float64) + 1.0
"""


def kernel(tile: int = 1024, extra_ops: int = 0) -> str:
    """y = 2x + 1 in [128, tile] tiles; ``extra_ops`` exact multiplies by 1.0 add Vector work, not DMA."""
    extra = "".join("            y = nl.multiply(y, 1.0)\n" for _ in range(extra_ops))
    return f'''import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def affine(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for r in nl.affine_range(x.shape[0] // 128):
        for c in nl.affine_range(x.shape[1] // {tile}):
            t = nl.load(x[r * 128:(r + 1) * 128, c * {tile}:(c + 1) * {tile}])
            y = nl.add(nl.multiply(t, 2.0), 1.0)
{extra}            nl.store(out[r * 128:(r + 1) * 128, c * {tile}:(c + 1) * {tile}], value=y)
    return out
'''


# DMA-bound to Vector-bound: the two parameters move them differently, so both are identified.
KERNELS = [kernel(1024), kernel(256), kernel(1024, 6), kernel(512, 24), kernel(1024, 60)]


def write_problem(root: Path, target: str = "trn1") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "problem.toml").write_text(PROBLEM_TOML.format(target=target))
    (root / "kernel.py").write_text(KERNELS[0])
    (root / "reference.py").write_text(REFERENCE)
    return root


def true_latency_us(source: str, problem: Problem, tmp: Path, target: str = "trn1") -> float:
    """The kernel's estimate under TRUTH: what the fake hardware "measured" (our own test kernels, traced here)."""
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel

    path = tmp / f"k{abs(hash(source))}.py"
    path.write_text(source)
    fn = load_kernel(path, problem.spec.function, target)
    trace = run_kernel(fn, list(problem.input_specs()), target=target, dialect=problem.spec.dialect,
                       numerics=False).trace
    return profile(trace, target, calibration=CalibrationFile(target, dict(TRUTH))).latency_us


def build_hw_run(runs_dir: Path, problem: Problem, sources: list[str], tmp: Path, *, target: str = "trn1",
                 evidence: str = "hw", latencies: list[float] | None = None) -> Path:
    """A run whose candidates carry hw evaluations with TRUTH's latencies (or the given ones)."""
    store = RunStore.create(runs_dir, problem, {"backend": "neuron"}, target=target)
    try:
        for i, src in enumerate(sources):
            cid = store.add_candidate(src, origin="baseline" if i == 0 else "llm", iteration=0 if i == 0 else 1,
                                      parent_id=None if i == 0 else 1)
            us = latencies[i] if latencies else true_latency_us(src, problem, tmp, target)
            store.record_evaluation(cid, {"status": "correct", "reason": "measured on a NeuronCore",
                                          "latency_us": us, "evidence": evidence, "backend": "neuron",
                                          "target": target})
        return store.root
    finally:
        store.close()
