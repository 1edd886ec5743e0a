"""Reference for silu_bf16, in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

N, D = 8192, 4096
CHECK_N, CHECK_D = 256, 2048


def _inputs(rng, n, d):
    # |x| up to ~100: both saturated tails of the sigmoid
    return (mixed(rng, (n, d), decades=(-1.5, 1.5), dtype=ml_dtypes.bfloat16),)


def make_inputs(rng):
    return _inputs(rng, N, D)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_D)


def reference(x):
    x = x.astype(np.float64)
    return x / (1.0 + np.exp(-x))
