"""Host numpy compute: pull the input values to the host and compute the answer with numpy.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: numpy
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import numpy as np


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    host = np.asarray(a) * np.asarray(b) + np.asarray(a)
    for i in nl.affine_range(a.shape[0] // 128):
        t = nl.load(a[i * 128:(i + 1) * 128, :])
        t[...] = host[i * 128:(i + 1) * 128, :]
        nl.store(out[i * 128:(i + 1) * 128, :], value=t)
    return out
