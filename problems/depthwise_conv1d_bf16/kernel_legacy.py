"""Causal depthwise conv1d with channels on the partitions: one shifted reload of x per tap.

Baseline: x is loaded from HBM once per kernel tap, and each tap is a multiply followed by an add.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

P = 128


@nki.jit
def depthwise_conv1d(x, w, bias):
    CH, L = x.shape
    K = w.shape[1]
    assert CH % P == 0 and L > K
    out = nl.ndarray((CH, L), dtype=x.dtype, buffer=nl.shared_hbm)

    for c in nl.affine_range(CH // P):
        rows = slice(c * P, (c + 1) * P)
        w_t = nl.load(w[rows, :])
        acc = nl.ndarray((P, L), dtype=nl.float32, buffer=nl.sbuf)
        acc[...] = nl.multiply(nl.ones((P, L), dtype=nl.float32), nl.load(bias[rows, :]))
        for k in nl.sequential_range(K):
            shift = K - 1 - k  # tap k reads x[t - shift]
            x_shifted = nl.load(x[rows, 0:L - shift], dtype=nl.float32)
            acc[:, shift:L] = nl.add(acc[:, shift:L], nl.multiply(x_shifted, w_t[:, k:k + 1]))
        nl.store(out[rows, :], value=nl.copy(acc, dtype=x.dtype))
    return out
