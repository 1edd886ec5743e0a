"""Reference for gemm_transposed_bf16: float64 A @ B."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

M, K, N = 2048, 2048, 4096
CHECK_M, CHECK_K, CHECK_N = 256, 256, 1024


def _operand(rng, shape, scale):
    return mixed(rng, shape, scale=scale).astype(ml_dtypes.bfloat16)


def make_inputs(rng):
    return _operand(rng, (M, K), 1.0), _operand(rng, (K, N), 1.0 / np.sqrt(K))


def make_check_inputs(rng):
    return _operand(rng, (CHECK_M, CHECK_K), 1.0), _operand(rng, (CHECK_K, CHECK_N), 1.0 / np.sqrt(CHECK_K))


def reference(a, b):
    return a.astype(np.float64) @ b.astype(np.float64)
