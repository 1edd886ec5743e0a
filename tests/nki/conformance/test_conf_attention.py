"""Conformance: fused self-attention, plain and causal (nisa.affine_select), seq 256."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

attn = kernels("attention")


def attention_ref(q, k, v, causal):
    q, k, v = f64(q), f64(k), f64(v)
    s = q @ k.T / np.sqrt(q.shape[1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape, dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_self_attention(seed, dtype, causal):
    rng = np.random.default_rng(seed)
    seq, d = 256, 64
    q, k, v = (sample(rng, (seq, d), dtype, decades=(-2.0, 0.7)) for _ in range(3))
    kernel = attn.causal_attention if causal else attn.attention
    out = kernel(np.ascontiguousarray(q.T), np.ascontiguousarray(k.T), v)
    assert out.dtype == np.dtype(dtype)
    assert_matches(out, attention_ref(q, k, v, causal), tol=2e-5 if dtype is np.float32 else 2e-2)
    if causal:
        ops = [i.opcode for i in kernel.last_result.trace.instructions]
        assert ops.count("AFFINE_SELECT") == seq // 128
