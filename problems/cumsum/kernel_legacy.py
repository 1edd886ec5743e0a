"""Row-wise prefix sum: rows on the partitions, columns scanned in chunks of TILE_F with a carried total."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

P = 128
TILE_F = 512


@nki.jit
def cumsum(x):
    R, L = x.shape
    assert R % P == 0 and L % TILE_F == 0
    out = nl.ndarray((R, L), dtype=x.dtype, buffer=nl.shared_hbm)
    zeros = nl.zeros((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)

    for r in nl.affine_range(R // P):
        carry = nl.zeros((P, 1), dtype=nl.float32, buffer=nl.sbuf)  # running total of the chunks so far
        for j in nl.sequential_range(L // TILE_F):
            chunk = nl.load(x[r * P:(r + 1) * P, j * TILE_F:(j + 1) * TILE_F])
            # result[i] = (chunk[i] + result[i-1]) + 0, starting from the carry
            prefix = nisa.tensor_tensor_scan(chunk, zeros, initial=carry, op0=nl.add, op1=nl.add)
            nl.store(out[r * P:(r + 1) * P, j * TILE_F:(j + 1) * TILE_F], value=prefix)
            carry[...] = nl.copy(prefix[:, TILE_F - 1:TILE_F])
    return out
