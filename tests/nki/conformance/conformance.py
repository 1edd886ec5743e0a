"""Support for the conformance suite: loading kernel files, test inputs and tolerances.

Kernels live in ``kernels/*.py`` as plain legacy-dialect files that import
``neuronxcc.nki`` like user code; they are loaded through autocomp's own kernel
loader, so the simulator stands in for the Neuron toolchain.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

import ml_dtypes
import numpy as np

import autocomp.nki
from autocomp.nki.loader import load_module

KERNELS = Path(__file__).parent / "kernels"
SEEDS = (0, 1)
bf16 = ml_dtypes.bfloat16

# Relative tolerance by the dtype the result was rounded to last (bf16 keeps 8 significant bits).
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(bf16): 1e-2}


@functools.cache
def kernels(name: str) -> ModuleType:
    """The kernel file ``kernels/<name>.py`` imported with the simulator installed."""
    autocomp.nki.install()
    return load_module(KERNELS / f"{name}.py")


def sample(rng: np.random.Generator, shape, dtype=np.float32, decades=(-2.0, 1.0), zeros: float = 0.05):
    """Mixed signs, magnitudes spread log-uniformly over ``decades`` and a share of exact zeros."""
    magnitude = 10.0 ** rng.uniform(decades[0], decades[1], shape)
    x = np.where(rng.random(shape) < 0.5, -magnitude, magnitude)
    x[rng.random(shape) < zeros] = 0.0
    return x.astype(dtype)


def f64(x) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def assert_matches(out, ref: np.ndarray, tol: float | None = None) -> None:
    """Element-wise: |out - ref| <= tol * (|ref| + max|ref|), with tol set by the output dtype."""
    out = np.asarray(out)
    assert out.shape == ref.shape, f"shape {out.shape} != reference {ref.shape}"
    tol = TOLERANCE[out.dtype] if tol is None else tol
    got = f64(out)
    assert np.isfinite(got).all(), "output holds NaN/Inf (unwritten memory or overflow)"
    scale = float(np.abs(ref).max()) or 1.0
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale)


def opcodes(trace) -> list[str]:
    return [ins.opcode for ins in trace.instructions]
