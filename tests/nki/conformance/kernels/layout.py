"""Index-heavy kernels: RoPE with nl.mgrid, 3-D transposes and 2-D max-pooling (legacy NKI dialect)."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def rope(x, cos, sin):
    """Rotary embedding on half-split pairs: x [S, D], cos/sin [S, D/2], tokens on the partitions."""
    S, D = x.shape
    H = D // 2
    out = nl.ndarray((S, D), dtype=x.dtype, buffer=nl.shared_hbm)
    grid = nl.mgrid[0:128, 0:H]
    for t in nl.affine_range(S // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        c_t = nl.load(cos[t * 128 + grid.p, grid.x])
        s_t = nl.load(sin[t * 128 + grid.p, grid.x])
        lo = x_t[grid.p, grid.x]
        hi = x_t[grid.p, grid.x + H]
        res = nl.ndarray((128, D), dtype=x.dtype, buffer=nl.sbuf)
        res[grid.p, grid.x] = nl.subtract(nl.multiply(lo, c_t), nl.multiply(hi, s_t))
        res[grid.p, grid.x + H] = nl.add(nl.multiply(hi, c_t), nl.multiply(lo, s_t))
        nl.store(out[t * 128:(t + 1) * 128, :], value=res)
    return out


@nki.jit
def transpose_last_two(x):
    """y[b] = x[b].T for x [B, R, C] with R, C multiples of 128, one PE transpose per 128x128 block."""
    B, R, C = x.shape
    out = nl.ndarray((B, C, R), dtype=x.dtype, buffer=nl.shared_hbm)
    for b in nl.affine_range(B):
        for r in nl.affine_range(R // 128):
            for c in nl.affine_range(C // 128):
                blk = nl.load(x[b, r * 128:(r + 1) * 128, c * 128:(c + 1) * 128])
                blkT = nl.copy(nisa.nc_transpose(blk), dtype=x.dtype)
                nl.store(out[b, c * 128:(c + 1) * 128, r * 128:(r + 1) * 128], value=blkT)
    return out


@nki.jit
def transpose_last_two_vector(x):
    """The same for x [B, 32, C]: 32x32 blocks transposed on the Vector engine, SBUF to SBUF."""
    B, R, C = x.shape
    out = nl.ndarray((B, C, R), dtype=x.dtype, buffer=nl.shared_hbm)
    for b in nl.affine_range(B):
        x_t = nl.load(x[b])
        for c in nl.affine_range(C // 32):
            blkT = nisa.nc_transpose(x_t[:, c * 32:(c + 1) * 32], engine=nisa.vector_engine)
            nl.store(out[b, c * 32:(c + 1) * 32, :], value=blkT)
    return out


@nki.jit
def swap_outer_axes(x):
    """y[j, i, k] = x[i, j, k] for x [I, J, K], I <= 128: pure DMA with arange indexing."""
    I, J, K = x.shape
    out = nl.ndarray((J, I, K), dtype=x.dtype, buffer=nl.shared_hbm)
    i_i = nl.arange(I)[:, None]
    i_k = nl.arange(K)[None, :]
    for j in nl.affine_range(J):
        t = nl.load(x[i_i, j, i_k])
        nl.store(out[j, i_i, i_k], value=t)
    return out


@nki.jit
def maxpool2x2(x):
    """2x2 max-pool with stride 2 over x [C, H, W], channels on the partitions.

    Each window is addressed with a 5-D index grid (channel, out row, out col, dy, dx)
    and reduced over its two trailing axes.
    """
    C, H, W = x.shape
    OH, OW = H // 2, W // 2
    out = nl.ndarray((C, OH, OW), dtype=x.dtype, buffer=nl.shared_hbm)
    i_c = nl.arange(128)[:, None, None, None, None]
    i_oh = nl.arange(OH)[None, :, None, None, None]
    i_ow = nl.arange(OW)[None, None, :, None, None]
    i_dy = nl.arange(2)[None, None, None, :, None]
    i_dx = nl.arange(2)[None, None, None, None, :]
    for c in nl.affine_range(C // 128):
        img = nl.load(x[c * 128:(c + 1) * 128])
        windows = img[i_c, 2 * i_oh + i_dy, 2 * i_ow + i_dx]
        pooled = nl.max(windows, axis=[3, 4])
        nl.store(out[c * 128:(c + 1) * 128], value=pooled)
    return out


@nki.jit
def maxpool3x3_same(x):
    """3x3 max-pool with stride 1 and 'same' output over x [C, H, W]: padded with the fp32 minimum."""
    C, H, W = x.shape
    out = nl.ndarray((C, H, W), dtype=x.dtype, buffer=nl.shared_hbm)
    i_c = nl.arange(128)[:, None, None, None, None]
    i_h = nl.arange(H)[None, :, None, None, None]
    i_w = nl.arange(W)[None, None, :, None, None]
    i_dy = nl.arange(3)[None, None, None, :, None]
    i_dx = nl.arange(3)[None, None, None, None, :]
    for c in nl.affine_range(C // 128):
        padded = nl.full((128, H + 2, W + 2), nl.fp32.min, dtype=x.dtype, buffer=nl.sbuf)
        padded[:, 1:H + 1, 1:W + 1] = nl.load(x[c * 128:(c + 1) * 128])
        pooled = nl.max(padded[i_c, i_h + i_dy, i_w + i_dx], axis=[3, 4])
        nl.store(out[c * 128:(c + 1) * 128], value=pooled)
    return out
