"""Tiled bf16 GEMM: C = lhsT.T @ rhs, one PSUM accumulation group per output tile.

Baseline: every (m, n) output tile reloads its K strip of both operands from HBM.
BLOCK_M x BLOCK_N output tiles share those loads when the blocks are larger than 1.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

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

    for mb in nl.affine_range(M // (TILE_M * BLOCK_M)):
        for nb in nl.affine_range(N // (TILE_N * BLOCK_N)):
            # Both operand strips of this block, every K tile, staged in SBUF.
            a_tiles = nl.ndarray((BLOCK_M, K // TILE_K, nl.par_dim(TILE_K), TILE_M), dtype=lhsT.dtype,
                                 buffer=nl.sbuf)
            b_tiles = nl.ndarray((BLOCK_N, K // TILE_K, nl.par_dim(TILE_K), TILE_N), dtype=rhs.dtype,
                                 buffer=nl.sbuf)
            for bm in nl.affine_range(BLOCK_M):
                m0 = (mb * BLOCK_M + bm) * TILE_M
                for k in nl.affine_range(K // TILE_K):
                    a_tiles[bm, k] = nl.load(lhsT[k * TILE_K:(k + 1) * TILE_K, m0:m0 + TILE_M])
            for bn in nl.affine_range(BLOCK_N):
                n0 = (nb * BLOCK_N + bn) * TILE_N
                for k in nl.affine_range(K // TILE_K):
                    b_tiles[bn, k] = nl.load(rhs[k * TILE_K:(k + 1) * TILE_K, n0:n0 + TILE_N])

            for bm in nl.affine_range(BLOCK_M):
                for bn in nl.affine_range(BLOCK_N):
                    acc = nl.zeros((TILE_M, TILE_N), nl.float32, buffer=nl.psum)
                    for k in nl.affine_range(K // TILE_K):
                        acc += nisa.nc_matmul(a_tiles[bm, k], b_tiles[bn, k])
                    m0 = (mb * BLOCK_M + bm) * TILE_M
                    n0 = (nb * BLOCK_N + bn) * TILE_N
                    nl.store(out[m0:m0 + TILE_M, n0:n0 + TILE_N], value=nl.copy(acc, dtype=out.dtype))
    return out
