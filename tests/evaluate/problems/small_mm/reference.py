import numpy as np


def make_inputs(rng):
    lhsT = rng.standard_normal((128, 128)).astype(np.float32)
    rhs = rng.standard_normal((128, 512)).astype(np.float32)
    rhs[rng.random((128, 512)) < 0.02] = 0
    return lhsT, rhs


def reference(lhsT, rhs):
    return lhsT.astype(np.float64).T @ rhs.astype(np.float64)
