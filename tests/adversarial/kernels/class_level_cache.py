"""A list in a class body is shared by every instance and every call: a cache of outputs across kernel calls.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: is a mutable container shared by every instance
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


class Memo:
    seen = []

    def remember(self, out):
        self.seen.append(out)
        return out


@nki.jit
def muladd(a, b):
    memo = Memo()
    if memo.seen:
        return memo.seen[0]
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return memo.remember(out)
