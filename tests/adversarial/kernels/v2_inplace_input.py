"""Input mutated, current dialect: write the sum over the input a (HBM arguments are writable in nki 0.3)
and return a, saving the output allocation.

PROBLEM: v2_add
EXPECT: rejected
REASON: input 0 was modified
"""
import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def add(a, b):
    for r in nl.affine_range(a.shape[0] // 128):
        x = nl.ndarray((128, a.shape[1]), dtype=a.dtype, buffer=nl.sbuf)
        y = nl.ndarray((128, a.shape[1]), dtype=a.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=x, src=a[r * 128:(r + 1) * 128, :])
        nisa.dma_copy(dst=y, src=b[r * 128:(r + 1) * 128, :])
        nisa.tensor_tensor(dst=x, data1=x, data2=y, op=nl.add)
        nisa.dma_copy(dst=a[r * 128:(r + 1) * 128, :], src=x)
    return a
