"""A global statement: count calls and skip the work after the first one.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: `global _CALLS`
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

_CALLS = 0


@nki.jit
def muladd(a, b):
    global _CALLS
    _CALLS += 1
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    rows = 128 if _CALLS > 1 else a.shape[0]
    for i in nl.affine_range(rows // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
