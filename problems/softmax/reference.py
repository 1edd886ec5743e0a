"""Reference for softmax, in float64."""

import numpy as np

from autocomp.suite.sampling import mixed

N, D = 8192, 2048
CHECK_N, CHECK_D = 256, 512


def _inputs(rng, n, d):
    # Logits with mixed signs and very different spreads per row; some rows of large magnitude.
    spread = (10.0 ** rng.uniform(-2, 1.3, (n, 1))).astype(np.float32)
    x = mixed(rng, (n, d), decades=(0, 0)) * spread + rng.uniform(-50, 50, (n, 1)).astype(np.float32)
    return (x,)


def make_inputs(rng):
    return _inputs(rng, N, D)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_D)


def reference(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
