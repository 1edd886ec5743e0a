"""Host compute without a numpy call: read tile values with .view() and compute with Python operators.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: .view without a dtype
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    out.view()[...] = a.view() * b.view() + a.view()
    return out
