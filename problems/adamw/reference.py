"""Reference for adamw: one AdamW step in float64."""

import numpy as np

from autocomp.suite.sampling import mixed

R, C = 2048, 4096  # the weight matrix when no shape is named (problem.toml declares the timed sizes)
CHECK_C = 2048
LR, BETA1, BETA2, EPS, WEIGHT_DECAY, STEP = 1e-3, 0.9, 0.999, 1e-8, 0.01, 10


def _inputs(rng, r, c):
    param = mixed(rng, (r, c), decades=(-3, 0))
    grad = mixed(rng, (r, c), decades=(-6, 0))  # gradients span many decades
    m = mixed(rng, (r, c), decades=(-6, -1))
    v = np.abs(mixed(rng, (r, c), decades=(-12, -2)))  # second moment: non-negative, often tiny
    return param, grad, m, v


def make_inputs(rng, r=R, c=C):
    return _inputs(rng, r, c)


def make_check_inputs(rng, r=R, c=C):
    # Two row tiles, and one column tile at the largest TILE_F (narrower matrices keep their width).
    return _inputs(rng, min(r, 256), min(c, CHECK_C))


def reference(param, grad, exp_avg, exp_avg_sq):
    p, g, m, v = (a.astype(np.float64) for a in (param, grad, exp_avg, exp_avg_sq))
    m = BETA1 * m + (1 - BETA1) * g
    v = BETA2 * v + (1 - BETA2) * g * g
    update = m / (1 - BETA1 ** STEP) / (np.sqrt(v / (1 - BETA2 ** STEP)) + EPS)
    return p - LR * (update + WEIGHT_DECAY * p), m, v
