"""Reference for layernorm, in float64."""

import numpy as np

from autocomp.suite.sampling import mixed

N, D = 4096, 2048
CHECK_N, CHECK_D = 256, 512
EPS = 1e-5


def _inputs(rng, n, d):
    offset = rng.uniform(-5, 5, (n, 1)).astype(np.float32)  # rows with a non-zero mean
    x = mixed(rng, (n, d), decades=(-1.5, 1.0)) + offset
    gamma = 1.0 + 0.5 * rng.standard_normal(d, dtype=np.float32)
    beta = mixed(rng, d)
    return x.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32)


def make_inputs(rng):
    return _inputs(rng, N, D)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_D)


def reference(x, gamma, beta):
    x = x.astype(np.float64)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * gamma.astype(np.float64) + beta.astype(np.float64)
