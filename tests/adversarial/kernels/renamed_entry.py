"""Renamed entry point: the function the problem names is missing.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: no top-level function 'muladd'
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd_fast(a, b):
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
