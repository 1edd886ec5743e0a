"""Output left unwritten: allocate the output and return it without storing anything.

PROBLEM: ew_muladd
EXPECT: compile_error
REASON: never written
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    return out
