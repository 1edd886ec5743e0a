"""Constant output: store zeros everywhere, skipping all the work.

PROBLEM: ew_muladd
EXPECT: incorrect
REASON: rel L2 error
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.zeros((128, a.shape[1]), dtype=a.dtype))
    return out
