"""Tiled bf16 GEMM: C = lhsT.T @ rhs, one PSUM accumulation group per output tile.

Baseline: every (m, n) output tile reloads its K strip of both operands from HBM.
BLOCK_M x BLOCK_N output tiles share those loads when the blocks are larger than 1.
"""

import nki
import nki.isa as nisa
import nki.language as nl

TILE_K = 128  # contraction rows per matmul (partition dimension)
TILE_M = 128  # stationary free size
TILE_N = 512  # moving free size (one PSUM bank of fp32)
BLOCK_M = 1  # output tiles along M that share one load of the rhs strip
BLOCK_N = 1  # output tiles along N that share one load of the lhsT strip


@nki.jit
def gemm(lhsT, rhs):
    K, M = lhsT.shape
    K2, N = rhs.shape
    assert K == K2, f"contraction mismatch: lhsT has K={K}, rhs has K={K2}"
    assert M % (TILE_M * BLOCK_M) == 0 and N % (TILE_N * BLOCK_N) == 0 and K % TILE_K == 0
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)

    for mb in range(M // (TILE_M * BLOCK_M)):
        for nb in range(N // (TILE_N * BLOCK_N)):
            # Both operand strips of this block, every K tile, staged in SBUF (K rows on the partitions).
            a_tiles = nl.ndarray((TILE_K, BLOCK_M, K // TILE_K, TILE_M), dtype=lhsT.dtype, buffer=nl.sbuf)
            b_tiles = nl.ndarray((TILE_K, BLOCK_N, K // TILE_K, TILE_N), dtype=rhs.dtype, buffer=nl.sbuf)
            for bm in range(BLOCK_M):
                m0 = (mb * BLOCK_M + bm) * TILE_M
                for k in range(K // TILE_K):
                    nisa.dma_copy(dst=a_tiles[:, bm, k, :], src=lhsT[k * TILE_K:(k + 1) * TILE_K, m0:m0 + TILE_M])
            for bn in range(BLOCK_N):
                n0 = (nb * BLOCK_N + bn) * TILE_N
                for k in range(K // TILE_K):
                    nisa.dma_copy(dst=b_tiles[:, bn, k, :], src=rhs[k * TILE_K:(k + 1) * TILE_K, n0:n0 + TILE_N])

            for bm in range(BLOCK_M):
                for bn in range(BLOCK_N):
                    acc = nl.ndarray((TILE_M, TILE_N), dtype=nl.float32, buffer=nl.psum)
                    for k in range(K // TILE_K):  # the first matmul overwrites acc, the others add to it
                        nisa.nc_matmul(dst=acc, stationary=a_tiles[:, bm, k, :], moving=b_tiles[:, bn, k, :])
                    res = nl.ndarray((TILE_M, TILE_N), dtype=out.dtype, buffer=nl.sbuf)
                    nisa.tensor_copy(dst=res, src=acc)
                    m0 = (mb * BLOCK_M + bm) * TILE_M
                    n0 = (nb * BLOCK_N + bn) * TILE_N
                    nisa.dma_copy(dst=out[m0:m0 + TILE_M, n0:n0 + TILE_N], src=res)
    return out
