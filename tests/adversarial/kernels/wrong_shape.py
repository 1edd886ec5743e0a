"""Wrong output shape: compute only the first half of the rows and return a half-size tensor.

PROBLEM: ew_muladd
EXPECT: incorrect
REASON: shape [128, 128] but the reference is [256, 128]
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray((128, a.shape[1]), dtype=a.dtype, buffer=nl.shared_hbm)
    x = nl.load(a[0:128, :])
    y = nl.load(b[0:128, :])
    nl.store(out, value=nl.add(nl.multiply(x, y), x))
    return out
