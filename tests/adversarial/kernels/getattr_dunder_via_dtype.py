"""getattr(nl, name) with the name built at run time (chr(95) makes the underscores no string constant has), used
to reach the module's builtins: refused, since the result is used as something other than a dtype.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: computed attribute name
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

NAME = "builtins"


@nki.jit
def muladd(a, b):
    u = chr(95) * 2
    dtype = getattr(nl, u + NAME + u)
    dtype["print"]("payload ran")
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x), dtype=dtype)
    return out
