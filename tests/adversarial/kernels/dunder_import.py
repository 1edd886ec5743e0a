"""__import__ is importlib without the import statement the gate looks for.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: __import__
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    env = __import__("o" + "s").environ
    print(len(env))
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
