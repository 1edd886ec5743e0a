"""Cross-call caching through a helper's mutable default argument.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: mutable default argument
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def _tile(a, b, i, memo={}):
    if i not in memo:
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        memo[i] = nl.add(nl.multiply(x, y), x)
    return memo[i]


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], value=_tile(a, b, i))
    return out
