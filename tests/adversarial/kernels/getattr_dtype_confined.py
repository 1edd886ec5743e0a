"""getattr(nl, name) with a dunder name built at run time, used only as a dtype: the gate lets it through (no rule on
string constants could keep such a name out), but the result can only become a dtype, and a module's internals are
none: the run fails instead of reaching them.

PROBLEM: ew_muladd
EXPECT: compile_error
REASON: has no attribute '__builtins__'
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

NAME = "builtins"


@nki.jit
def muladd(a, b):
    u = chr(95) * 2
    out = nl.ndarray(a.shape, dtype=getattr(nl, u + NAME + u), buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
