"""A helper class whose method, called through the class, runs on the nl module itself: self.multiply = op patches
nl for every later kernel call (and for the reference check).

PROBLEM: ew_muladd
EXPECT: rejected
REASON: class Patch may only be called
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


class Patch:
    def apply(self, op):
        self.multiply = op


@nki.jit
def muladd(a, b):
    Patch.apply(nl, nl.add)
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
