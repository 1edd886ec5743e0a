"""Test inputs and comparisons shared by the simulator's test suites (both NKI dialects)."""

from __future__ import annotations

import numpy as np


def sample(rng: np.random.Generator, shape, dtype=np.float32, decades=(-2.0, 1.0), zeros: float = 0.05):
    """Mixed signs, magnitudes spread log-uniformly over ``decades`` and a share of exact zeros."""
    magnitude = 10.0 ** rng.uniform(decades[0], decades[1], shape)
    x = np.where(rng.random(shape) < 0.5, -magnitude, magnitude)
    x[rng.random(shape) < zeros] = 0.0
    return x.astype(dtype)


def f64(x) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def assert_close_by_dtype(out, ref: np.ndarray, tolerance: dict, tol: float | None = None) -> None:
    """Element-wise |out - ref| <= tol * (|ref| + max|ref|), ``tol`` looked up by the output dtype."""
    out = np.asarray(out)
    assert out.shape == ref.shape, f"shape {out.shape} != reference {ref.shape}"
    tol = tolerance[out.dtype] if tol is None else tol
    got = f64(out)
    assert np.isfinite(got).all(), "output holds NaN/Inf (unwritten memory or overflow)"
    scale = float(np.abs(ref).max()) or 1.0
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


def opcodes(trace) -> list[str]:
    return [ins.opcode for ins in trace.instructions]
