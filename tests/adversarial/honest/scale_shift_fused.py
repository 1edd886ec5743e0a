"""Honest: one tensor_scalar instruction per tile, at every shape (check_shapes problem).

PROBLEM: ew_check
EXPECT: correct
"""
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl
import numpy as np


@nki.jit
def scale_shift(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nisa.tensor_scalar(x, np.multiply, 2.0, op1=np.add, operand1=1.0)
        nl.store(out[i * 128:(i + 1) * 128, :], value=y)
    return out
