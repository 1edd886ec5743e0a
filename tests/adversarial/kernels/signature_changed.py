"""Changed entry-point signature: an extra parameter the harness would not pass.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: differs from the baseline
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b, scale=1.0):
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
