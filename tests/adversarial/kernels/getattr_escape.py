"""Escape through a computed attribute name: reach numpy's ctypes bridge.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: computed attribute name
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import numpy as np

bridge = getattr(np, "ctypes" + "lib")


@nki.jit
def muladd(a, b):
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
