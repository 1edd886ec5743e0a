"""Running a problem's kernel in the simulator and comparing its outputs with the reference.

This is the honest-kernel path used by the suite tests and ``autocomp problems new``;
untrusted candidates go through ``autocomp.evaluate`` (sandboxed) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autocomp.problem import Problem, Tolerance
from autocomp.targets import DEFAULT_TARGET


@dataclass
class Comparison:
    """How far one output is from its reference, and whether that is within the tolerance."""

    rel_l2: float
    max_abs: float
    worst_index: tuple[int, ...]
    violations: int  # elements with |out - ref| > atol + rtol * |ref| (NaN counts)
    passed: bool
    reason: str = ""


def compare(output, reference: np.ndarray, tol: Tolerance) -> Comparison:
    """Rel-L2 <= tol.rel_l2 and every |out - ref| <= atol + rtol * |ref|; shapes must match exactly."""
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(output)
    if out.shape != ref.shape:
        return Comparison(np.inf, np.inf, (), ref.size, False, f"shape {list(out.shape)} != reference "
                                                                f"{list(ref.shape)}")
    out = out.astype(np.float64)
    diff = np.abs(out - ref)
    bad = ~(diff <= tol.atol + tol.rtol * np.abs(ref))  # NaN compares False, so it counts as bad
    norm = float(np.linalg.norm(ref))
    err = float(np.linalg.norm(np.nan_to_num(out - ref, nan=np.inf)))
    rel = err / norm if norm else err
    if diff.size and np.isnan(diff).any():
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.isnan(diff))), diff.shape))
        max_abs = float("nan")
    else:
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else ()
        max_abs = float(diff.max()) if diff.size else 0.0
    violations = int(bad.sum())
    passed = rel <= tol.rel_l2 and violations == 0
    reason = "" if passed else (f"rel-L2 {rel:.3g} (limit {tol.rel_l2:g}), {violations} element(s) outside "
                                f"atol {tol.atol:g} + rtol {tol.rtol:g}; worst at {list(worst)}: "
                                f"{out[worst] if worst else out!s} vs {ref[worst] if worst else ref!s}")
    return Comparison(rel, max_abs, worst, violations, passed, reason)


def load_problem_kernel(problem: Problem, path: str | Path | None = None):
    """The entry-point function of ``path`` (default: the problem's baseline kernel.py), simulator installed."""
    from autocomp.nki.loader import load_kernel

    return load_kernel(path or problem.kernel_path, problem.spec.function, problem.spec.target)


def run_problem_kernel(problem: Problem, fn, args, *, numerics: bool = True):
    """Simulate ``fn(*args)`` with the problem's target and dialect; returns the ``SimResult``."""
    from autocomp.nki import run_kernel

    return run_kernel(fn, args, target=problem.spec.target, grid=getattr(fn, "grid", ()), numerics=numerics,
                      dialect=problem.spec.dialect, nki_version=problem.spec.nki_version)


def as_outputs(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def check_kernel(problem: Problem, seed: int, fn=None) -> list[Comparison]:
    """Run the kernel (default: the baseline) on the seed's check inputs; one Comparison per output."""
    fn = fn or load_problem_kernel(problem)
    inputs = problem.inputs(seed)
    refs = problem.reference_outputs(seed, inputs)
    outputs = as_outputs(run_problem_kernel(problem, fn, inputs).outputs)
    if len(outputs) != len(refs):
        return [Comparison(np.inf, np.inf, (), 0, False,
                           f"the kernel returned {len(outputs)} output(s), the reference {len(refs)}")]
    return [compare(o, r, problem.spec.tolerance) for o, r in zip(outputs, refs)]


def simulate_reference(kernel, inputs, *, dialect: str = "v1", target: str = DEFAULT_TARGET) -> tuple[np.ndarray, ...]:
    """A trusted NKI kernel's outputs from the simulator, in float64: the reference when no numpy one exists."""
    from autocomp.nki import run_kernel

    result = run_kernel(kernel, list(inputs), target=target, dialect=dialect, grid=getattr(kernel, "grid", ()))
    return tuple(np.asarray(o).astype(np.float64) for o in as_outputs(result.outputs))
