"""Reference for attention_bf16: float64 softmax(Q K^T / sqrt(d)) V per head."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

H, S, D = 8, 2048, 128
CHECK_H, CHECK_S, CHECK_D = 2, 512, 128


def _inputs(rng, h, s, d):
    # Per-head query scale makes some heads' softmax nearly one-hot and others nearly flat.
    qT = mixed(rng, (h, d, s)) * np.geomspace(0.3, 3.0, h, dtype=np.float32).reshape(h, 1, 1)
    return tuple(a.astype(ml_dtypes.bfloat16) for a in (qT, mixed(rng, (h, d, s)), mixed(rng, (h, s, d))))


def make_inputs(rng):
    return _inputs(rng, H, S, D)


def make_check_inputs(rng):
    return _inputs(rng, CHECK_H, CHECK_S, CHECK_D)


def reference(qT, kT, v):
    q, k, v = (a.astype(np.float64) for a in (qT, kT, v))
    scores = np.einsum("hds,hdt->hst", q, k) / np.sqrt(q.shape[1])
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return np.einsum("hst,htd->hsd", p / p.sum(axis=-1, keepdims=True), v)
