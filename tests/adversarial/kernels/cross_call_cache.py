"""Cross-call caching: keep the first call's output in a module-level dict and return it afterwards.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: module-level state
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

_CACHE = {}


@nki.jit
def muladd(a, b):
    if "out" in _CACHE:
        return _CACHE["out"]
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    _CACHE["out"] = out
    return out
