"""Shared helpers for the current-dialect (``nki``) tests: inputs, references, tolerances, targets."""

from __future__ import annotations

import contextlib

import ml_dtypes
import numpy as np

import autocomp.nki
from autocomp.nki.targets_info import set_default_target

autocomp.nki.install()

SEEDS = (0, 1)
bf16 = ml_dtypes.bfloat16
# Relative tolerance by output dtype (bf16 keeps 8 significant bits).
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(bf16): 1.5e-2}


def sample(rng: np.random.Generator, shape, dtype=np.float32, decades=(-1.0, 0.5), zeros: float = 0.05):
    """Mixed signs, magnitudes spread over ``decades`` and a share of exact zeros."""
    magnitude = 10.0 ** rng.uniform(decades[0], decades[1], shape)
    x = np.where(rng.random(shape) < 0.5, -magnitude, magnitude)
    x[rng.random(shape) < zeros] = 0.0
    return x.astype(dtype)


def f64(x) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def assert_close(out, ref: np.ndarray, tol: float | None = None) -> None:
    """|out - ref| <= tol * (|ref| + max|ref|), with tol chosen by the output dtype."""
    out = np.asarray(out)
    assert out.shape == ref.shape, f"shape {out.shape} != reference {ref.shape}"
    tol = TOLERANCE[out.dtype] if tol is None else tol
    got = f64(out)
    assert np.isfinite(got).all(), "output holds NaN/Inf (unwritten memory?)"
    scale = float(np.abs(ref).max()) or 1.0
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


def opcodes(trace) -> list[str]:
    return [ins.opcode for ins in trace.instructions]


@contextlib.contextmanager
def target(name: str):
    """Run kernels for ``name`` (trn1/trn2/trn3), then restore the environment's default."""
    set_default_target(name)
    try:
        yield
    finally:
        set_default_target(None)
