"""RMSNorm + matmul in two passes: normalize rows into an HBM scratch tensor, then a tiled GEMM reading it back.

Baseline: the normalized activations make a round trip through HBM, and each activation tile
is reloaded and re-transposed on the Tensor engine for every output tile along N.
"""

import nki
import nki.isa as nisa
import nki.language as nl

EPS = 1e-6
P = 128
TILE_N = 512


@nki.jit
def rmsnorm_matmul(x, gamma, w):
    T, D = x.shape
    N = w.shape[1]
    assert T % P == 0 and D % P == 0 and N % TILE_N == 0
    out = nl.ndarray((T, N), dtype=x.dtype, buffer=nl.shared_hbm)
    xn = nl.ndarray((T, D), dtype=x.dtype, buffer=nl.hbm)  # normalized activations (scratch)

    # gamma [D], copied to every partition once
    g = nl.ndarray((P, D), dtype=gamma.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=g, src=gamma.ap(pattern=[[0, P], [1, D]], offset=0))  # stride 0: the same row P times
    for t in range(T // P):
        rows = slice(t * P, (t + 1) * P)
        x_t = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.dma_copy(dst=x_t, src=x[rows, :])  # the DMA casts bf16 to fp32
        sq = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=sq, op=nl.square, data=x_t)
        ms = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=ms, op=nl.add, data=sq, axis=1, keepdims=True)
        nisa.tensor_scalar(dst=ms, data=ms, op0=nl.multiply, operand0=1.0 / D)
        nisa.tensor_scalar(dst=ms, data=ms, op0=nl.add, operand0=EPS)
        rstd = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=rstd, op=nl.rsqrt, data=ms)
        y = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=x_t, op0=nl.multiply, operand0=rstd)
        y_out = nl.ndarray((P, D), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=y_out, data1=y, data2=g, op=nl.multiply)
        nisa.dma_copy(dst=xn[rows, :], src=y_out)

    for t in range(T // P):
        for n in range(N // TILE_N):
            acc = nl.ndarray((P, TILE_N), dtype=nl.float32, buffer=nl.psum)
            for k in range(D // P):
                a_tile = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=a_tile, src=xn[t * P:(t + 1) * P, k * P:(k + 1) * P])
                aT_ps = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.psum)
                nisa.nc_transpose(dst=aT_ps, data=a_tile)
                aT = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.sbuf)
                nisa.tensor_copy(dst=aT, src=aT_ps)
                w_tile = nl.ndarray((P, TILE_N), dtype=w.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=w_tile, src=w[k * P:(k + 1) * P, n * TILE_N:(n + 1) * TILE_N])
                nisa.nc_matmul(dst=acc, stationary=aT, moving=w_tile)
            res = nl.ndarray((P, TILE_N), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[t * P:(t + 1) * P, n * TILE_N:(n + 1) * TILE_N], src=res)
    return out
