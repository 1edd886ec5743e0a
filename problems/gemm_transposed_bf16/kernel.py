"""bf16 GEMM C = A @ B with A row-major [M, K]: transpose A's tiles on the Tensor engine, then multiply.

Baseline: the A tile is reloaded and re-transposed for every output tile along N.
"""

import nki
import nki.isa as nisa
import nki.language as nl

TILE = 128  # M and K tile (PE transpose is at most 128 x 128)
TILE_N = 512  # moving free size


@nki.jit
def gemm_transposed(a, b):
    M, K = a.shape
    K2, N = b.shape
    assert K == K2 and M % TILE == 0 and K % TILE == 0 and N % TILE_N == 0
    out = nl.ndarray((M, N), dtype=a.dtype, buffer=nl.shared_hbm)

    for m in range(M // TILE):
        for n in range(N // TILE_N):
            acc = nl.ndarray((TILE, TILE_N), dtype=nl.float32, buffer=nl.psum)
            for k in range(K // TILE):
                a_tile = nl.ndarray((TILE, TILE), dtype=a.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=a_tile, src=a[m * TILE:(m + 1) * TILE, k * TILE:(k + 1) * TILE])
                aT_ps = nl.ndarray((TILE, TILE), dtype=a.dtype, buffer=nl.psum)
                nisa.nc_transpose(dst=aT_ps, data=a_tile)
                aT = nl.ndarray((TILE, TILE), dtype=a.dtype, buffer=nl.sbuf)  # [K tile, M tile]
                nisa.tensor_copy(dst=aT, src=aT_ps)
                b_tile = nl.ndarray((TILE, TILE_N), dtype=b.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=b_tile, src=b[k * TILE:(k + 1) * TILE, n * TILE_N:(n + 1) * TILE_N])
                nisa.nc_matmul(dst=acc, stationary=aT, moving=b_tile)
            res = nl.ndarray((TILE, TILE_N), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[m * TILE:(m + 1) * TILE, n * TILE_N:(n + 1) * TILE_N], src=res)
    return out
