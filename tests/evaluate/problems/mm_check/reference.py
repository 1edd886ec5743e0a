import ml_dtypes
import numpy as np


def _make(rng, k, m, n):
    return (rng.standard_normal((k, m)).astype(ml_dtypes.bfloat16),
            rng.standard_normal((k, n)).astype(ml_dtypes.bfloat16))


def make_inputs(rng):
    return _make(rng, 1024, 512, 4096)


def make_check_inputs(rng):
    return _make(rng, 256, 128, 512)


def reference(lhsT, rhs):
    return lhsT.astype(np.float64).T @ rhs.astype(np.float64)
