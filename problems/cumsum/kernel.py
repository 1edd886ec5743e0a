"""Row-wise prefix sum: rows on the partitions, columns scanned in chunks of TILE_F with a carried total."""

import nki
import nki.isa as nisa
import nki.language as nl

P = 128
TILE_F = 512


@nki.jit
def cumsum(x):
    R, L = x.shape
    assert R % P == 0 and L % TILE_F == 0
    out = nl.ndarray((R, L), dtype=x.dtype, buffer=nl.shared_hbm)
    zeros = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
    nisa.memset(dst=zeros, value=0.0)

    for r in range(R // P):
        rows = slice(r * P, (r + 1) * P)
        carry = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)  # running total of the chunks so far
        nisa.memset(dst=carry, value=0.0)
        for j in range(L // TILE_F):  # in order: each chunk starts from the previous chunk's total
            cols = slice(j * TILE_F, (j + 1) * TILE_F)
            chunk = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=chunk, src=x[rows, cols])
            # result[i] = (chunk[i] + result[i-1]) + 0, starting from the carry
            prefix = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor_scan(dst=prefix, data0=chunk, data1=zeros, initial=carry, op0=nl.add, op1=nl.add)
            nisa.dma_copy(dst=out[rows, cols], src=prefix)
            nisa.tensor_copy(dst=carry, src=prefix[:, TILE_F - 1:TILE_F])
    return out
