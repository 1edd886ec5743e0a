"""Partial output: only the first 128-row tile is computed; the rest stays NaN (never written).

PROBLEM: ew_muladd
EXPECT: incorrect
REASON: never written
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    x = nl.load(a[0:128, :])
    y = nl.load(b[0:128, :])
    nl.store(out[0:128, :], value=nl.add(nl.multiply(x, y), x))
    return out
