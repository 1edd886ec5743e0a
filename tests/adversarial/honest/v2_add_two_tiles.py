"""Honest, current dialect: two 128-row tiles per iteration, the sum written straight back out.

PROBLEM: v2_add
EXPECT: correct
"""
import nki
import nki.isa as nisa
import nki.language as nl


@nki.jit
def add(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    cols = a.shape[1]
    for r in nl.affine_range(a.shape[0] // 256):
        for h in nl.affine_range(2):
            rows = slice(r * 256 + h * 128, r * 256 + (h + 1) * 128)
            x = nl.ndarray((128, cols), dtype=a.dtype, buffer=nl.sbuf)
            y = nl.ndarray((128, cols), dtype=a.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=x, src=a[rows, :])
            nisa.dma_copy(dst=y, src=b[rows, :])
            nisa.tensor_tensor(dst=x, data1=x, data2=y, op=nl.add)
            nisa.dma_copy(dst=out[rows, :], src=x)
    return out
