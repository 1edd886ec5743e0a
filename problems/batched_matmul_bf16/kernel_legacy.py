"""Batched bf16 matmul: out[b] = lhsT[b].T @ rhs[b], one output tile at a time.

Baseline: loops batch, M tile, N tile, K tile; both operand tiles are loaded inside the K loop.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

TILE_K = 128
TILE_M = 128
TILE_N = 512


@nki.jit
def batched_matmul(lhsT, rhs):
    B, K, M = lhsT.shape
    _, _, N = rhs.shape
    assert K % TILE_K == 0 and M % TILE_M == 0 and N % TILE_N == 0
    out = nl.ndarray((B, M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)

    for b in nl.affine_range(B):
        for m in nl.affine_range(M // TILE_M):
            for n in nl.affine_range(N // TILE_N):
                acc = nl.zeros((TILE_M, TILE_N), nl.float32, buffer=nl.psum)
                for k in nl.affine_range(K // TILE_K):
                    a_tile = nl.load(lhsT[b, k * TILE_K:(k + 1) * TILE_K, m * TILE_M:(m + 1) * TILE_M])
                    b_tile = nl.load(rhs[b, k * TILE_K:(k + 1) * TILE_K, n * TILE_N:(n + 1) * TILE_N])
                    acc += nisa.nc_matmul(a_tile, b_tile)
                nl.store(out[b, m * TILE_M:(m + 1) * TILE_M, n * TILE_N:(n + 1) * TILE_N],
                         value=nl.copy(acc, dtype=out.dtype))
    return out
