"""Reference for cumsum, in float64."""

import numpy as np

from autocomp.suite.sampling import mixed

R, L = 4096, 4096
CHECK_R, CHECK_L = 256, 2048


def _inputs(rng, r, length):
    x = mixed(rng, (r, length), decades=(-2, 1))
    x += rng.uniform(-0.5, 0.5, (r, 1)).astype(np.float32)  # rows that drift up or down
    return (x,)


def make_inputs(rng):
    return _inputs(rng, R, L)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_R, CHECK_L)


def reference(x):
    return np.cumsum(x.astype(np.float64), axis=1)
