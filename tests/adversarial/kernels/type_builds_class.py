"""type() with three arguments builds a class at run time (a place to keep state, or a metaclass hook).

PROBLEM: ew_muladd
EXPECT: rejected
REASON: type() is not allowed
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

Memo = type("Memo", (), {"out": None})


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
