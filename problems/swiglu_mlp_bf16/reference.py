"""Reference for swiglu_mlp_bf16, in float64 from the bf16 operands."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

T, D, F = 512, 2048, 5632
CHECK_T, CHECK_D, CHECK_F = 512, 512, 384


def _sample(rng, shape, scale):
    return mixed(rng, shape, scale=scale, dtype=ml_dtypes.bfloat16)


def _inputs(rng, t, d, f):
    x = _sample(rng, (t, d), 2.0)
    return (x, _sample(rng, (d, f), 1.0 / np.sqrt(d)), _sample(rng, (d, f), 1.0 / np.sqrt(d)),
            _sample(rng, (f, d), 1.0 / np.sqrt(f)))


def make_inputs(rng):
    return _inputs(rng, T, D, F)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_T, CHECK_D, CHECK_F)


def reference(x, w_gate, w_up, w_down):
    x, wg, wu, wd = (a.astype(np.float64) for a in (x, w_gate, w_up, w_down))
    g = x @ wg
    return (g / (1.0 + np.exp(-g)) * (x @ wu)) @ wd
