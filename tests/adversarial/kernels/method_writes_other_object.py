"""A helper object's method writes the output onto another object (the kernel function), which outlives the call:
the next call would find it there and skip the work.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: a method may assign only to its own instance
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


class Keeper:
    def keep(self, holder, out):
        holder.last = out
        return out


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return Keeper().keep(muladd, out)
