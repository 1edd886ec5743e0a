"""Reference for mamba_scan: the recurrence stepped in float64."""

import numpy as np

from autocomp.suite.sampling import mixed

CH, L, N = 1536, 2048, 16
CHECK_CH, CHECK_L = 256, 256


def _inputs(rng, ch, length):
    delta = (10.0 ** rng.uniform(-3, 0, (ch, length))).astype(np.float32)  # softplus output: positive
    delta[rng.random((ch, length)) < 0.01] = 0  # a step that keeps the state unchanged
    u = mixed(rng, (ch, length), decades=(-1.5, 1.0))
    A = -np.exp(rng.uniform(-2, 2.5, (ch, N))).astype(np.float32)  # negative: a stable recurrence
    B = mixed(rng, (N, length))
    C = mixed(rng, (N, length))
    D = mixed(rng, (ch, 1))
    return delta, u, A, B, C, D


def make_inputs(rng):
    return _inputs(rng, CH, L)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_CH, CHECK_L)


def reference(delta, u, A, B, C, D):
    delta, u, A, B, C, D = (x.astype(np.float64) for x in (delta, u, A, B, C, D))
    h = np.zeros(A.shape)
    y = np.empty(u.shape)
    for t in range(u.shape[1]):
        h = np.exp(delta[:, t:t + 1] * A) * h + (delta[:, t] * u[:, t])[:, None] * B[None, :, t]
        y[:, t] = h @ C[:, t] + D[:, 0] * u[:, t]
    return y
