"""Reference for rmsnorm_matmul_bf16, in float64 from the bf16 operands."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

T, D, N = 512, 4096, 6144
CHECK_T, CHECK_D, CHECK_N = 256, 512, 1024
EPS = 1e-6


def _inputs(rng, t, d, n):
    x = mixed(rng, (t, d), decades=(-1.5, 1.0))
    x[rng.integers(0, t)] *= 300  # one token with much larger activations
    gamma = 1.0 + 0.5 * rng.standard_normal(d, dtype=np.float32)
    w = mixed(rng, (d, n), scale=1.0 / np.sqrt(d))
    return tuple(a.astype(ml_dtypes.bfloat16) for a in (x, gamma, w))


def make_inputs(rng):
    return _inputs(rng, T, D, N)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_T, CHECK_D, CHECK_N)


def reference(x, gamma, w):
    x, gamma, w = (a.astype(np.float64) for a in (x, gamma, w))
    xn = x / np.sqrt(np.mean(x * x, axis=1, keepdims=True) + EPS) * gamma
    return xn @ w
