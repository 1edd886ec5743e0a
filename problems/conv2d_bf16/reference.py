"""Reference for conv2d_bf16: direct convolution in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

N, C, H, W = 8, 128, 28, 28
CHECK_N, CHECK_H, CHECK_W = 1, 28, 12  # H = 28: every ROWS value divides it


def _inputs(rng, n, h, w):
    x = np.maximum(mixed(rng, (n, C, h, w), decades=(-1.5, 1.0)), 0)  # post-ReLU activations: half zeros
    wt = mixed(rng, (3, 3, C, C), scale=1.0 / np.sqrt(9 * C))
    return x.astype(ml_dtypes.bfloat16), wt.astype(ml_dtypes.bfloat16)


def make_inputs(rng):
    return _inputs(rng, N, H, W)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_N, CHECK_H, CHECK_W)


def reference(x, w):
    x, w = x.astype(np.float64), w.astype(np.float64)
    n, _, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[3], h, wd))
    for kh in range(3):
        for kw in range(3):
            out += np.einsum("nchw,co->nohw", padded[:, :, kh:kh + h, kw:kw + wd], w[kh, kw])
    return out
