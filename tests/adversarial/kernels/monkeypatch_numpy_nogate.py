"""Monkeypatching numpy past the gate: the worker notices the replaced attribute.

PROBLEM: ew_muladd
GATE: off
EXPECT: rejected
REASON: numpy.allclose
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import numpy as np

np.allclose = lambda *args, **kwargs: True


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
