"""RMSNorm, one 128-row tile at a time: square, row sum, rsqrt, scale by the row factor and by gamma."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

EPS = 1e-6


@nki.jit
def rmsnorm(x, gamma):
    N, D = x.shape
    assert N % 128 == 0
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.load(gamma.reshape((1, D)))

    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :], dtype=nl.float32)
        sq = nl.square(x_t)
        ms = nl.multiply(nl.sum(sq, axis=[1], keepdims=True), 1.0 / D)
        rstd = nl.rsqrt(nl.add(ms, EPS))
        y = nl.multiply(x_t, rstd)
        y = nl.multiply(y, g, dtype=x.dtype)  # gamma [1, D] broadcasts across the partitions
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out
