"""Reading files: open the reference module to copy its answer.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: open() is not allowed
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    text = open("../reference.py").read()
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    print(text)
    return out
