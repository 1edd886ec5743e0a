"""Input returned unchanged: return the input tensor as the output.

PROBLEM: ew_muladd
EXPECT: incorrect
REASON: rel L2 error
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    return a
