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
import nki_testing
import numpy as np
from nki_testing import f64, opcodes  # noqa: F401 - re-exported for the conformance tests

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
    return nki_testing.sample(rng, shape, dtype, decades, zeros)


def assert_matches(out, ref: np.ndarray, tol: float | None = None) -> None:
    """Element-wise: |out - ref| <= tol * (|ref| + max|ref|), with tol set by the output dtype."""
    nki_testing.assert_close_by_dtype(out, ref, TOLERANCE, tol)
