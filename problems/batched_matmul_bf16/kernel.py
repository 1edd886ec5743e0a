"""Batched bf16 matmul: out[b] = lhsT[b].T @ rhs[b], one output tile at a time.

Baseline: loops batch, M tile, N tile, K tile; both operand tiles are loaded inside the K loop.
"""

import nki
import nki.isa as nisa
import nki.language as nl

TILE_K = 128
TILE_M = 128
TILE_N = 512


@nki.jit
def batched_matmul(lhsT, rhs):
    B, K, M = lhsT.shape
    _, _, N = rhs.shape
    assert K % TILE_K == 0 and M % TILE_M == 0 and N % TILE_N == 0
    out = nl.ndarray((B, M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)

    for b in range(B):
        for m in range(M // TILE_M):
            for n in range(N // TILE_N):
                acc = nl.ndarray((TILE_M, TILE_N), dtype=nl.float32, buffer=nl.psum)
                for k in range(K // TILE_K):
                    a_tile = nl.ndarray((TILE_K, TILE_M), dtype=lhsT.dtype, buffer=nl.sbuf)
                    nisa.dma_copy(dst=a_tile, src=lhsT[b, k * TILE_K:(k + 1) * TILE_K, m * TILE_M:(m + 1) * TILE_M])
                    b_tile = nl.ndarray((TILE_K, TILE_N), dtype=rhs.dtype, buffer=nl.sbuf)
                    nisa.dma_copy(dst=b_tile, src=rhs[b, k * TILE_K:(k + 1) * TILE_K, n * TILE_N:(n + 1) * TILE_N])
                    nisa.nc_matmul(dst=acc, stationary=a_tile, moving=b_tile)  # overwrites at k = 0, then adds
                res = nl.ndarray((TILE_M, TILE_N), dtype=out.dtype, buffer=nl.sbuf)
                nisa.tensor_copy(dst=res, src=acc)
                nisa.dma_copy(dst=out[b, m * TILE_M:(m + 1) * TILE_M, n * TILE_N:(n + 1) * TILE_N], src=res)
    return out
