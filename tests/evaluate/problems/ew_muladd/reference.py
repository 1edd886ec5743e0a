import numpy as np


def make_inputs(rng):
    a = (rng.standard_normal((256, 128)) * 2.0 ** rng.integers(-4, 4, (256, 128))).astype(np.float32)
    b = rng.standard_normal((256, 128)).astype(np.float32)
    a[rng.random((256, 128)) < 0.02] = 0
    return a, b


def reference(a, b):
    a = a.astype(np.float64)
    return a * b.astype(np.float64) + a
