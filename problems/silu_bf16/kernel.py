"""SiLU as sigmoid on the Scalar engine followed by a multiply on the Vector engine, one tile at a time."""

import nki
import nki.isa as nisa
import nki.language as nl

P = 128
TILE_F = 512  # columns per tile


@nki.jit
def silu(x):
    N, D = x.shape
    assert N % P == 0 and D % TILE_F == 0
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)

    for r in range(N // P):
        for c in range(D // TILE_F):
            x_tile = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=x_tile, src=x[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F])
            gate = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=gate, op=nl.sigmoid, data=x_tile)
            y_tile = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=y_tile, data1=x_tile, data2=gate, op=nl.multiply)
            nisa.dma_copy(dst=out[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F], src=y_tile)
    return out
