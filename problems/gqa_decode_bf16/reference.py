"""Reference for gqa_decode_bf16: float64 softmax attention per query head over its kv head's cache."""

import ml_dtypes
import numpy as np

from autocomp.suite.sampling import mixed

B, HQ, HKV, D = 4, 32, 8, 128
CHECK_B, CHECK_HQ, CHECK_HKV = 1, 8, 2
S = 4096  # cached tokens when no shape is named (problem.toml declares the timed context lengths)


def _inputs(rng, b, hq, hkv, s):
    q = mixed(rng, (b, hq, D)) * np.geomspace(0.3, 3.0, hq, dtype=np.float32)[None, :, None]
    kT = mixed(rng, (b, hkv, D, s))
    v = mixed(rng, (b, hkv, s, D))
    return tuple(a.astype(ml_dtypes.bfloat16) for a in (q, kT, v))


def make_inputs(rng, s=S):
    return _inputs(rng, B, HQ, HKV, s)


def make_check_inputs(rng, s=S):
    # Fewer heads and batches, and an eighth of the context (at least 512 keys, one score tile at the largest
    # TILE_S): every shape's key loop still runs more than once.
    return _inputs(rng, CHECK_B, CHECK_HQ, CHECK_HKV, max(512, s // 8))


def reference(q, kT, v):
    q, kT, v = (a.astype(np.float64) for a in (q, kT, v))
    b, hq, d = q.shape
    g = hq // kT.shape[1]
    kT_per_head = np.repeat(kT, g, axis=1)  # [B, HQ, D, S]
    v_per_head = np.repeat(v, g, axis=1)  # [B, HQ, S, D]
    scores = np.einsum("bhd,bhds->bhs", q, kT_per_head) / np.sqrt(d)
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return np.einsum("bhs,bhsd->bhd", p / p.sum(axis=-1, keepdims=True), v_per_head)
