"""Reference for rmsnorm_bf16, in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

N, D = 4096, 4096
CHECK_N, CHECK_D = 256, 1024
EPS = 1e-6


def _inputs(rng, n, d):
    x = mixed(rng, (n, d), decades=(-1.5, 1.0))
    x[rng.integers(0, n)] *= 1000  # one row of much larger magnitude
    gamma = 1.0 + 0.5 * rng.standard_normal(d, dtype=np.float32)
    return x.astype(ml_dtypes.bfloat16), gamma.astype(ml_dtypes.bfloat16)


def make_inputs(rng):
    return _inputs(rng, N, D)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_D)


def reference(x, gamma):
    x = x.astype(np.float64)
    rstd = 1.0 / np.sqrt(np.mean(x * x, axis=1, keepdims=True) + EPS)
    return x * rstd * gamma.astype(np.float64)
