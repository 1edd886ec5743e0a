"""Input mutated: declares b mutable, overwrites it with zeros and returns it alongside the result.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: input 1 was modified
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import neuronxcc.nki.typing as nt


@nki.jit
def muladd(a, b: nt.mutable_tensor):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
        nl.store(b[i * 128:(i + 1) * 128, :], value=nl.zeros((128, a.shape[1]), dtype=a.dtype))
    return out, b
