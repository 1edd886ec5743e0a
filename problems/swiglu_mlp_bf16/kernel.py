"""SwiGLU MLP in three phases: transpose x, gate/up projections with silu(gate) * up, down projection.

The intermediate activation stays in SBUF transposed (hT [F, T]), so the down projection
can use it directly as the stationary operand. Baseline: weights are loaded one 128x128
(gate/up) or 128x512 (down) tile at a time, inside the loops that use them.
"""

import nki
import nki.isa as nisa
import nki.language as nl

P = 128  # partition tile
TILE_T = 512  # tokens per gate/up matmul (moving free size)
TILE_D = 512  # output columns per down-projection matmul


@nki.jit
def swiglu_mlp(x, w_gate, w_up, w_down):
    T, D = x.shape
    F = w_gate.shape[1]
    assert T % TILE_T == 0 and D % P == 0 and D % TILE_D == 0 and F % P == 0
    out = nl.ndarray((T, D), dtype=x.dtype, buffer=nl.shared_hbm)

    # Phase 1: xT [D, T] in SBUF as D // P tiles of [P, T] (partition dimension first).
    xT = nl.ndarray((P, D // P, T), dtype=x.dtype, buffer=nl.sbuf)
    for t in range(T // P):
        for k in range(D // P):
            x_tile = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=x_tile, src=x[t * P:(t + 1) * P, k * P:(k + 1) * P])
            xT_ps = nl.ndarray((P, P), dtype=x.dtype, buffer=nl.psum)
            nisa.nc_transpose(dst=xT_ps, data=x_tile)
            nisa.tensor_copy(dst=xT[:, k, t * P:(t + 1) * P], src=xT_ps)

    # Phase 2: hT[f] = silu(W_gate[:, f]^T x^T) * (W_up[:, f]^T x^T), [P, T] per F tile.
    hT = nl.ndarray((P, F // P, T), dtype=x.dtype, buffer=nl.sbuf)
    for f in range(F // P):
        for t in range(T // TILE_T):
            gate = nl.ndarray((P, TILE_T), dtype=nl.float32, buffer=nl.psum)
            up = nl.ndarray((P, TILE_T), dtype=nl.float32, buffer=nl.psum)
            for k in range(D // P):
                wg = nl.ndarray((P, P), dtype=w_gate.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=wg, src=w_gate[k * P:(k + 1) * P, f * P:(f + 1) * P])
                wu = nl.ndarray((P, P), dtype=w_up.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=wu, src=w_up[k * P:(k + 1) * P, f * P:(f + 1) * P])
                nisa.nc_matmul(dst=gate, stationary=wg, moving=xT[:, k, t * TILE_T:(t + 1) * TILE_T])
                nisa.nc_matmul(dst=up, stationary=wu, moving=xT[:, k, t * TILE_T:(t + 1) * TILE_T])
            act = nl.ndarray((P, TILE_T), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=act, op=nl.silu, data=gate)
            nisa.tensor_tensor(dst=hT[:, f, t * TILE_T:(t + 1) * TILE_T], data1=act, data2=up, op=nl.multiply)

    # Phase 3: out[t, n] = sum_f hT[f][:, t]^T @ W_down[f, n].
    for t in range(T // P):
        for n in range(D // TILE_D):
            acc = nl.ndarray((P, TILE_D), dtype=nl.float32, buffer=nl.psum)
            for f in range(F // P):
                wd = nl.ndarray((P, TILE_D), dtype=w_down.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=wd, src=w_down[f * P:(f + 1) * P, n * TILE_D:(n + 1) * TILE_D])
                nisa.nc_matmul(dst=acc, stationary=hT[:, f, t * P:(t + 1) * P], moving=wd)
            res = nl.ndarray((P, TILE_D), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[t * P:(t + 1) * P, n * TILE_D:(n + 1) * TILE_D], src=res)
    return out
