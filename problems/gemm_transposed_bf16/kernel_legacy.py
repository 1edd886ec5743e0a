"""bf16 GEMM C = A @ B with A row-major [M, K]: transpose A's tiles on the Tensor engine, then multiply.

Baseline: the A tile is reloaded and re-transposed for every output tile along N.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

TILE = 128  # M and K tile (PE transpose is at most 128 x 128)
TILE_N = 512  # moving free size


@nki.jit
def gemm_transposed(a, b):
    M, K = a.shape
    K2, N = b.shape
    assert K == K2 and M % TILE == 0 and K % TILE == 0 and N % TILE_N == 0
    out = nl.ndarray((M, N), dtype=a.dtype, buffer=nl.shared_hbm)

    for m in nl.affine_range(M // TILE):
        for n in nl.affine_range(N // TILE_N):
            acc = nl.zeros((TILE, TILE_N), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // TILE):
                a_tile = nl.load(a[m * TILE:(m + 1) * TILE, k * TILE:(k + 1) * TILE])
                aT = nl.copy(nisa.nc_transpose(a_tile), dtype=a.dtype)  # [K tile, M tile]
                b_tile = nl.load(b[k * TILE:(k + 1) * TILE, n * TILE_N:(n + 1) * TILE_N])
                acc += nisa.nc_matmul(aT, b_tile)
            nl.store(out[m * TILE:(m + 1) * TILE, n * TILE_N:(n + 1) * TILE_N], value=nl.copy(acc, dtype=out.dtype))
    return out
