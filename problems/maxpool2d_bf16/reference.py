"""Reference for maxpool2d_bf16: exact (max of bf16 values is exact)."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

N, C, H, W = 8, 64, 112, 112
CHECK_N, CHECK_H, CHECK_W = 1, 16, 20


def _inputs(rng, n, h, w):
    x = mixed(rng, (n, C, h, w), decades=(-2, 1), zeros=0.05)
    x[:, :, : h // 4] = -np.abs(x[:, :, : h // 4])  # a band where every value is <= 0, so padding must not win
    return (x.astype(ml_dtypes.bfloat16),)


def make_inputs(rng):
    return _inputs(rng, N, H, W)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_H, CHECK_W)


def reference(x):
    x = x.astype(np.float64)
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    out = np.full((n, c, h // 2, w // 2), -np.inf)
    for kh in range(3):
        for kw in range(3):
            out = np.maximum(out, padded[:, :, kh:kh + h:2, kw:kw + w:2])
    return out
