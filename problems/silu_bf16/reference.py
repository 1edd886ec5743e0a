"""Reference for silu_bf16, in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

N, D = 8192, 4096  # tokens when no shape is named (problem.toml declares the timed token counts), hidden
CHECK_D = 2048


def _inputs(rng, n, d):
    # |x| up to ~100: both saturated tails of the sigmoid
    return (mixed(rng, (n, d), decades=(-1.5, 1.5), dtype=ml_dtypes.bfloat16),)


def make_inputs(rng, n=N):
    return _inputs(rng, n, D)


def make_check_inputs(rng, n=N):
    # Two row tiles at most (fewer tokens than that: all of them), half the hidden size.
    return _inputs(rng, min(n, 256), CHECK_D)


def reference(x):
    x = x.astype(np.float64)
    return x / (1.0 + np.exp(-x))
