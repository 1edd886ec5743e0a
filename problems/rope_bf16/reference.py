"""Reference for rope_bf16, in float64."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

T, H, HEAD_DIM = 2048, 32, 128
CHECK_T, CHECK_H = 256, 4


def _inputs(rng, t, h):
    half = HEAD_DIM // 2
    # Positions start at a random offset, as for a chunk in the middle of a long sequence.
    pos = rng.integers(0, 100_000) + np.arange(t, dtype=np.float64)[:, None]
    inv_freq = 10000.0 ** (-np.arange(half, dtype=np.float64) / half)
    angle = pos * inv_freq[None, :]
    x = mixed(rng, (t, h * HEAD_DIM), decades=(-1.5, 1.0)).astype(ml_dtypes.bfloat16)
    return x, np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)


def make_inputs(rng):
    return _inputs(rng, T, H)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_T, CHECK_H)


def reference(x, cos, sin):
    t = x.shape[0]
    xh = x.astype(np.float64).reshape(t, -1, HEAD_DIM)
    half = HEAD_DIM // 2
    x1, x2 = xh[..., :half], xh[..., half:]
    c, s = cos.astype(np.float64)[:, None, :], sin.astype(np.float64)[:, None, :]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1).reshape(t, -1)
