"""Reference for batched_matmul_bf16: float64 batched A @ B (A given transposed)."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

B, M, K, N = 16, 512, 512, 1024
CHECK_B, CHECK_M, CHECK_K, CHECK_N = 2, 256, 256, 512


def _operand(rng, shape, scale):
    return mixed(rng, shape, scale=scale).astype(ml_dtypes.bfloat16)


def _inputs(rng, b, m, k, n):
    return _operand(rng, (b, k, m), 1.0 / np.sqrt(k)), _operand(rng, (b, k, n), 1.0)


def make_inputs(rng):
    return _inputs(rng, B, M, K, N)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_B, CHECK_M, CHECK_K, CHECK_N)


def reference(lhsT, rhs):
    return np.einsum("bkm,bkn->bmn", lhsT.astype(np.float64), rhs.astype(np.float64))
