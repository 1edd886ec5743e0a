import numpy as np


def make_inputs(rng):
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = (rng.standard_normal((256, 256)) * 2.0 ** rng.integers(-4, 4, (256, 256))).astype(np.float32)
    return a, b


def reference(a, b):
    return a.astype(np.float64) + b
