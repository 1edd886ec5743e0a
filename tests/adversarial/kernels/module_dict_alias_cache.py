"""Cross-call cache in a module-level dict, read by the kernel and written through a local alias.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: mutable dict
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

_SEEN = {}


@nki.jit
def muladd(a, b):
    cached = _SEEN.get("out")
    if cached is not None:
        return cached
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    memo = _SEEN
    memo["out"] = out
    return out
