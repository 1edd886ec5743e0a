"""Reference for transpose3d_bf16: an exact permutation."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

S, H, D = 2048, 16, 128
CHECK_S, CHECK_H = 256, 3


def _inputs(rng, s, h):
    return (mixed(rng, (s, h, D), decades=(-2, 2), dtype=ml_dtypes.bfloat16),)


def make_inputs(rng):
    return _inputs(rng, S, H)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_S, CHECK_H)


def reference(x):
    return np.ascontiguousarray(x.transpose(1, 2, 0)).astype(np.float64)
