"""Trace tampering past the gate: wipe the recorded instructions so the cost model sees no work.

PROBLEM: ew_muladd
GATE: off
EXPECT: rejected
REASON: does not produce the whole output
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
from autocomp.nki.runtime import current


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    current().trace.instructions.clear()
    return out
