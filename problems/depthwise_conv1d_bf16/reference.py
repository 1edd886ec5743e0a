"""Reference for depthwise_conv1d_bf16, in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

CH, L, K = 2048, 4096, 4
CHECK_CH, CHECK_L = 256, 512


def _inputs(rng, ch, length):
    x = mixed(rng, (ch, length), decades=(-1.5, 1.0)).astype(ml_dtypes.bfloat16)
    return x, mixed(rng, (ch, K)), mixed(rng, (ch, 1))


def make_inputs(rng):
    return _inputs(rng, CH, L)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_CH, CHECK_L)


def reference(x, w, bias):
    x, w = x.astype(np.float64), w.astype(np.float64)
    length, k = x.shape[1], w.shape[1]
    padded = np.pad(x, ((0, 0), (k - 1, 0)))
    out = np.repeat(bias.astype(np.float64), length, axis=1)
    for j in range(k):
        out += w[:, j:j + 1] * padded[:, j:j + length]
    return out
