"""Comparing candidate outputs with reference outputs, and precision rules, in the parent process."""

from __future__ import annotations

import math

import numpy as np

from autocomp.evaluate.result import OutputError
from autocomp.problem import Tolerance


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compare(out: np.ndarray, ref: np.ndarray, tol: Tolerance, seed: int, index: int) -> OutputError:
    """Pass when rel-L2 <= tol.rel_l2 and every element is within atol + rtol*|ref| (NaN never is)."""
    if tuple(out.shape) != tuple(ref.shape):
        return OutputError(seed=seed, output=index, passed=False, size=int(ref.size),
                           note=f"shape {list(out.shape)} but the reference is {list(ref.shape)}")
    o = out.astype(np.float64)
    r = np.asarray(ref).astype(np.float64)
    finite_ref = np.isfinite(r)
    finite_out = np.isfinite(o)
    if finite_ref.all() and finite_out.all():  # the usual case: the same numbers without the masking passes
        nonfinite = None
        diff = np.abs(o - r)
        excess = diff - (tol.atol + tol.rtol * np.abs(r))
        n_nonfinite = 0
        ref_norm = float(np.sqrt(np.sum(r ** 2)))
    else:
        nonfinite = finite_ref & ~finite_out
        special_bad = ~finite_ref & ~((np.isnan(r) & np.isnan(o)) | (r == o))
        both = finite_ref & finite_out
        diff = np.abs(np.where(both, o, 0.0) - np.where(both, r, 0.0))
        excess = diff - (tol.atol + tol.rtol * np.abs(np.where(finite_ref, r, 0.0)))
        excess = np.where(nonfinite | special_bad, np.inf, np.where(both, excess, -np.inf))
        n_nonfinite = int(np.count_nonzero(nonfinite))
        ref_norm = float(np.sqrt(np.sum(np.where(finite_ref, r, 0.0) ** 2)))
    mismatched = int(np.count_nonzero(excess > 0))
    err_norm = float(np.sqrt(np.sum(diff ** 2)))
    rel_l2 = math.inf if n_nonfinite else err_norm / max(ref_norm, 1e-30)
    max_abs = math.inf if n_nonfinite else float(diff.max(initial=0.0))
    worst = None
    if r.size:
        flat = int(np.argmax(nonfinite)) if n_nonfinite else int(np.argmax(excess))
        worst = [int(i) for i in np.unravel_index(flat, r.shape)] if r.ndim else []
    passed = mismatched == 0 and rel_l2 <= tol.rel_l2
    result = OutputError(seed=seed, output=index, passed=passed, max_abs=_finite_or_none(max_abs),
                         rel_l2=_finite_or_none(rel_l2), mismatched=mismatched, nonfinite=n_nonfinite,
                         size=int(r.size), worst_index=worst)
    if worst is not None:
        result.worst_value = _finite_or_none(float(o[tuple(worst)])) if r.ndim else None
        result.worst_expected = _finite_or_none(float(r[tuple(worst)])) if r.ndim else None
    return result


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def describe_failure(err: OutputError, tol: Tolerance) -> str:
    """One line saying how wrong an output is, where, and what to look at."""
    where = f"output {err.output} (seed {err.seed})"
    if err.note:
        return f"{where}: {err.note}"
    if err.nonfinite:
        return (f"{where}: {err.nonfinite} of {err.size} elements are NaN or inf, first at {err.worst_index}; NaN "
                "means the element was never written: store every element of the output")
    return (f"{where}: rel L2 error {_g(err.rel_l2)} (limit {tol.rel_l2:g}), max abs error {_g(err.max_abs)}; "
            f"{err.mismatched} of {err.size} elements outside {tol.atol:g} + {tol.rtol:g}*|ref|, worst at "
            f"{err.worst_index}: got {_g(err.worst_value)}, expected {_g(err.worst_expected)}")


# --------------------------------------------------------------------------- precision
def precision_rank(dtype: str) -> int | None:
    """Bits of precision class of a float dtype name (higher is more precise); None for non-floats."""
    if dtype.startswith(("float8", "float4")):
        return 1
    return {"float16": 2, "bfloat16": 2, "tfloat32": 3, "float32": 4, "float64": 5}.get(dtype)


def lowest_float(dtypes: list[str]) -> str | None:
    ranked = [(precision_rank(d), d) for d in dtypes if precision_rank(d) is not None]
    return min(ranked)[1] if ranked else None


def downcast_reason(candidate_outputs: list[str], baseline_outputs: list[str], candidate_compute: list[str],
                    baseline_compute: list[str]) -> str | None:
    """Why the candidate computes at lower precision than the baseline, or None."""
    for i, (c, b) in enumerate(zip(candidate_outputs, baseline_outputs)):
        rc, rb = precision_rank(c), precision_rank(b)
        if rc is not None and rb is not None and rc < rb:
            return (f"output {i} is {c} but the baseline returns {b}; the problem does not allow lowering precision "
                    "(allow_downcast = false)")
    c_low, b_low = lowest_float(candidate_compute), lowest_float(baseline_compute + baseline_outputs)
    if c_low is not None and (b_low is None or precision_rank(c_low) < precision_rank(b_low)):
        return (f"the kernel computes in {c_low} while the baseline's lowest precision is {b_low or 'none'}; the "
                "problem does not allow lowering precision (allow_downcast = false)")
    return None
