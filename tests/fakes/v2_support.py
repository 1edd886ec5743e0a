"""Shared helpers for the current-dialect (``nki``) tests: inputs, references, tolerances, targets."""

from __future__ import annotations

import contextlib

import ml_dtypes
import numpy as np

import autocomp.nki
from autocomp.nki.v1.top import STATE as V1_STATE
from autocomp.nki.v2.top import STATE as V2_STATE
from tests.fakes import nki_testing
from tests.fakes.nki_testing import f64, opcodes  # noqa: F401 - re-exported for the current-dialect tests

autocomp.nki.install()

SEEDS = (0, 1)
bf16 = ml_dtypes.bfloat16
# Relative tolerance by output dtype (bf16 keeps 8 significant bits).
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(bf16): 1.5e-2}


def sample(rng: np.random.Generator, shape, dtype=np.float32, decades=(-1.0, 0.5), zeros: float = 0.05):
    """Mixed signs, magnitudes spread over ``decades`` and a share of exact zeros."""
    return nki_testing.sample(rng, shape, dtype, decades, zeros)


def assert_close(out, ref: np.ndarray, tol: float | None = None) -> None:
    """|out - ref| <= tol * (|ref| + max|ref|), with tol chosen by the output dtype."""
    nki_testing.assert_close_by_dtype(out, ref, TOLERANCE, tol)


@contextlib.contextmanager
def target(name: str):
    """Run kernels for ``name`` (a target name), then restore the environment's default."""
    for state in (V1_STATE, V2_STATE):
        state.set_default_target(name)
    try:
        yield
    finally:
        for state in (V1_STATE, V2_STATE):
            state.set_default_target(None)
