"""Honest: the same result through nisa.tensor_tensor with numpy ufuncs as op arguments, and a helper.

PROBLEM: ew_muladd
EXPECT: correct
"""
import math

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl
import numpy as np

TILE = 128  # rows per tile


def _rows(i):
    return slice(i * TILE, (i + 1) * TILE)


@nki.jit
def muladd(a, b):
    # Comments and prints are fine.
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(math.ceil(a.shape[0] / TILE)):
        x = nl.load(a[_rows(i), :])
        y = nl.load(b[_rows(i), :])
        xy = nisa.tensor_tensor(x, y, op=np.multiply)
        nl.store(out[_rows(i), :], value=nisa.tensor_tensor(xy, x, op=np.add, dtype=np.float32))
    print("debug: done")
    return out
