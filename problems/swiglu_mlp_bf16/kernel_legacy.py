"""SwiGLU MLP in three phases: transpose x, gate/up projections with silu(gate) * up, down projection.

The intermediate activation stays in SBUF transposed (hT [F, T]), so the down projection
can use it directly as the stationary operand. Baseline: weights are loaded one 128x128
(gate/up) or 128x512 (down) tile at a time, inside the loops that use them.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

P = 128  # partition tile
TILE_T = 512  # tokens per gate/up matmul (moving free size)
TILE_D = 512  # output columns per down-projection matmul


@nki.jit
def swiglu_mlp(x, w_gate, w_up, w_down):
    T, D = x.shape
    F = w_gate.shape[1]
    assert T % TILE_T == 0 and D % P == 0 and D % TILE_D == 0 and F % P == 0
    out = nl.ndarray((T, D), dtype=x.dtype, buffer=nl.shared_hbm)

    # Phase 1: xT [D, T] in SBUF, D tiles on the partitions.
    xT = nl.ndarray((D // P, nl.par_dim(P), T), dtype=x.dtype, buffer=nl.sbuf)
    for t in nl.affine_range(T // P):
        for k in nl.affine_range(D // P):
            x_tile = nl.load(x[t * P:(t + 1) * P, k * P:(k + 1) * P])
            xT[k, :, t * P:(t + 1) * P] = nl.copy(nisa.nc_transpose(x_tile), dtype=x.dtype)

    # Phase 2: hT[f] = silu(W_gate[:, f]^T x^T) * (W_up[:, f]^T x^T), [P, T] per F tile.
    hT = nl.ndarray((F // P, nl.par_dim(P), T), dtype=x.dtype, buffer=nl.sbuf)
    for f in nl.affine_range(F // P):
        for t in nl.affine_range(T // TILE_T):
            gate = nl.zeros((P, TILE_T), nl.float32, buffer=nl.psum)
            up = nl.zeros((P, TILE_T), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(D // P):
                wg = nl.load(w_gate[k * P:(k + 1) * P, f * P:(f + 1) * P])
                wu = nl.load(w_up[k * P:(k + 1) * P, f * P:(f + 1) * P])
                gate += nisa.nc_matmul(wg, xT[k, :, t * TILE_T:(t + 1) * TILE_T])
                up += nisa.nc_matmul(wu, xT[k, :, t * TILE_T:(t + 1) * TILE_T])
            hT[f, :, t * TILE_T:(t + 1) * TILE_T] = nl.multiply(nl.silu(gate), up, dtype=x.dtype)

    # Phase 3: out[t, n] = sum_f hT[f][:, t]^T @ W_down[f, n].
    for t in nl.affine_range(T // P):
        for n in nl.affine_range(D // TILE_D):
            acc = nl.zeros((P, TILE_D), nl.float32, buffer=nl.psum)
            for f in nl.affine_range(F // P):
                wd = nl.load(w_down[f * P:(f + 1) * P, n * TILE_D:(n + 1) * TILE_D])
                acc += nisa.nc_matmul(hT[f, :, t * P:(t + 1) * P], wd)
            nl.store(out[t * P:(t + 1) * P, n * TILE_D:(n + 1) * TILE_D], value=nl.copy(acc, dtype=x.dtype))
    return out
