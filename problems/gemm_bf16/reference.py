"""Reference for gemm_bf16: float64 matmul of the bf16 operands."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

M, K, N = 2048, 4096, 4096  # timing shape
CHECK_M, CHECK_K, CHECK_N = 512, 256, 2048  # correctness shape: every knob value still divides it


def _inputs(rng, m, k, n):
    return (mixed(rng, (k, m), scale=1.0 / np.sqrt(k)).astype(ml_dtypes.bfloat16),
            mixed(rng, (k, n)).astype(ml_dtypes.bfloat16))


def make_inputs(rng):
    return _inputs(rng, M, K, N)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_M, CHECK_K, CHECK_N)


def reference(lhsT, rhs):
    return lhsT.astype(np.float64).T @ rhs.astype(np.float64)
