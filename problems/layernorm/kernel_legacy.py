"""LayerNorm, one 128-row tile at a time, with a separate pass for each statistic."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

EPS = 1e-5


@nki.jit
def layernorm(x, gamma, beta):
    N, D = x.shape
    assert N % 128 == 0
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.load(gamma.reshape((1, D)))  # weights as single rows, broadcast across partitions below
    b = nl.load(beta.reshape((1, D)))

    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        mean = nl.multiply(nl.sum(x_t, axis=[1], keepdims=True), 1.0 / D)
        centred = nl.subtract(x_t, mean)
        var = nl.multiply(nl.sum(nl.square(centred), axis=[1], keepdims=True), 1.0 / D)
        rstd = nl.rsqrt(nl.add(var, EPS))
        y = nl.multiply(centred, rstd)
        y = nl.multiply(y, g)  # [1, D] rows broadcast across the partitions
        y = nl.add(y, b)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out
