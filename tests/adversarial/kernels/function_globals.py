"""Interpreter escape through a function object: __globals__ and __builtins__ hand out every builtin.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: dunder attribute .__globals__
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def _helper(x):
    return x


@nki.jit
def muladd(a, b):
    opener = _helper.__globals__["__builtins__"]["open"]
    print(opener)
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
