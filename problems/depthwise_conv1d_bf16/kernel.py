"""Causal depthwise conv1d with channels on the partitions: one shifted reload of x per tap.

Baseline: x is loaded from HBM once per kernel tap, and each tap is a multiply followed by an add.
"""

import nki
import nki.isa as nisa
import nki.language as nl

P = 128


@nki.jit
def depthwise_conv1d(x, w, bias):
    CH, L = x.shape
    K = w.shape[1]
    assert CH % P == 0 and L > K
    out = nl.ndarray((CH, L), dtype=x.dtype, buffer=nl.shared_hbm)

    for c in range(CH // P):
        rows = slice(c * P, (c + 1) * P)
        w_t = nl.ndarray((P, K), dtype=w.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=w_t, src=w[rows, :])
        b_t = nl.ndarray((P, 1), dtype=bias.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=b_t, src=bias[rows, :])
        acc = nl.ndarray((P, L), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=acc, value=1.0)
        nisa.tensor_scalar(dst=acc, data=acc, op0=nl.multiply, operand0=b_t)  # every column starts at the bias
        for k in range(K):
            shift = K - 1 - k  # tap k reads x[t - shift]
            x_shifted = nl.ndarray((P, L - shift), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=x_shifted, src=x[rows, 0:L - shift])  # the DMA casts to fp32
            term = nl.ndarray((P, L - shift), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=term, data=x_shifted, op0=nl.multiply, operand0=w_t[:, k:k + 1])
            nisa.tensor_tensor(dst=acc[:, shift:L], data1=acc[:, shift:L], data2=term, op=nl.add)
        res = nl.ndarray((P, L), dtype=x.dtype, buffer=nl.sbuf)
        nisa.tensor_copy(dst=res, src=acc)
        nisa.dma_copy(dst=out[rows, :], src=res)
    return out
