"""Frame walking through sys._getframe: climb to the worker's frames and their objects.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: import of 'sys'
"""
import sys

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    caller = sys._getframe(1).f_back
    print(sorted(caller.f_locals))
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
