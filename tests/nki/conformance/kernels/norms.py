"""Row normalisations over the last axis: RMSNorm and LayerNorm (legacy NKI dialect).

Rows ride the partitions in tiles of 128; the last tile is ragged when the row
count is not a multiple of 128 and is handled with masks.
"""

import math

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def rmsnorm(x, gamma, eps=1e-6):
    """y = x / sqrt(mean(x^2) + eps) * gamma, for x [N, D] and gamma [1, D]."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(D)[None, :]
    g = nl.load(gamma)
    for t in nl.affine_range(math.ceil(N / 128)):
        rows = t * 128 + i_p < N
        x_t = nl.load(x[t * 128 + i_p, i_f], mask=rows)
        sq = nl.square(x_t, mask=rows)
        ms = nl.sum(sq, axis=[1], mask=rows) * (1.0 / D)
        rstd = nl.rsqrt(ms + eps, mask=rows)
        y = nl.multiply(x_t, rstd, mask=rows)
        y = nl.multiply(y, g, mask=rows)  # gamma [1, D] broadcasts along the partitions
        nl.store(out[t * 128 + i_p, i_f], value=y, mask=rows)
    return out


@nki.jit
def layernorm(x, gamma, beta, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta with nl.mean and a fused tensor_scalar."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.load(gamma)
    b = nl.load(beta)
    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :], dtype=nl.float32)
        mean = nl.mean(x_t, axis=1, keepdims=True)
        centred = nl.subtract(x_t, mean)
        var = nl.mean(nl.square(centred), axis=1, keepdims=True)
        rstd = nl.rsqrt(nl.add(var, eps))
        y = nisa.tensor_scalar(data=x_t, op0=nl.subtract, operand0=mean, op1=nl.multiply, operand1=rstd)
        y = nl.add(nl.multiply(y, g), b, dtype=x.dtype)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out


@nki.jit
def layernorm_bn(x, gamma, beta, eps=1e-5):
    """LayerNorm whose statistics come from bn_stats over 512-wide chunks and one bn_aggr."""
    N, D = x.shape
    FMAX = nl.tile_size.bn_stats_fmax
    chunks = D // FMAX
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.load(gamma)
    b = nl.load(beta)
    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        stats = nl.ndarray((128, 6 * chunks), dtype=nl.float32, buffer=nl.sbuf)
        for c in nl.affine_range(chunks):
            stats[:, nl.ds(c * 6, 6)] = nisa.bn_stats(x_t[:, nl.ds(c * FMAX, FMAX)], dtype=nl.float32)
        mean_var = nisa.bn_aggr(stats)
        mean = mean_var[:, 0:1]
        rstd = nisa.activation(op=nl.rsqrt, data=mean_var[:, 1:2], bias=_const_column(eps))
        y = nisa.tensor_scalar(data=x_t, op0=nl.subtract, operand0=mean, op1=nl.multiply, operand1=rstd,
                               dtype=nl.float32)
        y = nl.add(nl.multiply(y, g), b, dtype=x.dtype)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out


def _const_column(value):
    """A [128, 1] fp32 tile holding ``value`` (activation biases are per-partition tiles on trn1)."""
    return nl.full((128, 1), value, dtype=nl.float32)
