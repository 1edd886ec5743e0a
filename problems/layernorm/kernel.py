"""LayerNorm, one 128-row tile at a time, with a separate pass for each statistic."""

import nki
import nki.isa as nisa
import nki.language as nl

EPS = 1e-5
P = 128


@nki.jit
def layernorm(x, gamma, beta):
    N, D = x.shape
    assert N % P == 0
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    # the weights [D], each copied to every partition once (the access pattern repeats the row: stride 0)
    g = nl.ndarray((P, D), dtype=gamma.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=g, src=gamma.ap(pattern=[[0, P], [1, D]], offset=0))
    b = nl.ndarray((P, D), dtype=beta.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=b, src=beta.ap(pattern=[[0, P], [1, D]], offset=0))

    for t in range(N // P):
        rows = slice(t * P, (t + 1) * P)
        x_t = nl.ndarray((P, D), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=x_t, src=x[rows, :])
        mean = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=mean, op=nl.add, data=x_t, axis=1, keepdims=True)
        nisa.tensor_scalar(dst=mean, data=mean, op0=nl.multiply, operand0=1.0 / D)
        centred = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=centred, data=x_t, op0=nl.subtract, operand0=mean)
        sq = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=sq, op=nl.square, data=centred)
        var = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=var, op=nl.add, data=sq, axis=1, keepdims=True)
        nisa.tensor_scalar(dst=var, data=var, op0=nl.multiply, operand0=1.0 / D)
        nisa.tensor_scalar(dst=var, data=var, op0=nl.add, operand0=EPS)
        rstd = nl.ndarray((P, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=rstd, op=nl.rsqrt, data=var)
        y = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=y, data=centred, op0=nl.multiply, operand0=rstd)
        nisa.tensor_tensor(dst=y, data1=y, data2=g, op=nl.multiply)
        y_out = nl.ndarray((P, D), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_tensor(dst=y_out, data1=y, data2=b, op=nl.add)
        nisa.dma_copy(dst=out[rows, :], src=y_out)
    return out
