"""Current-dialect attention kernels: fused self-attention and causal attention with affine_select."""

import math

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import SEEDS, assert_close, f64, opcodes, sample

NEG = -30000.0


def _transpose_into(dst_sb, src_sb):
    """SBUF [P, F] -> SBUF [F, P] through the Tensor engine and PSUM."""
    p, f = src_sb.shape
    t_ps = nl.ndarray((f, p), dtype=src_sb.dtype, buffer=nl.psum)
    nisa.nc_transpose(dst=t_ps, data=src_sb)
    nisa.tensor_copy(dst=dst_sb, src=t_ps)


def _attention(q, k, v, causal):
    S, d = q.shape
    out = nl.ndarray((S, d), dtype=nl.float32, buffer=nl.shared_hbm)
    scale = 1.0 / math.sqrt(d)
    k_t = nl.ndarray((d, S), dtype=nl.float32)  # keys on the free axis: [d, S]
    v_sb = nl.ndarray((128, S // 128, d), dtype=nl.float32)  # v tiles with keys on partitions
    for j in range(S // 128):
        k_sb = nl.ndarray((128, d), dtype=nl.float32)
        nisa.dma_copy(dst=k_sb, src=k[j * 128:(j + 1) * 128])
        _transpose_into(k_t[:, j * 128:(j + 1) * 128], k_sb)
        nisa.dma_copy(dst=v_sb[:, j, :], src=v[j * 128:(j + 1) * 128])
    for i in range(S // 128):
        q_sb = nl.ndarray((128, d), dtype=nl.float32)
        nisa.dma_copy(dst=q_sb, src=q[i * 128:(i + 1) * 128])
        q_t = nl.ndarray((d, 128), dtype=nl.float32)
        _transpose_into(q_t, q_sb)
        s_ps = nl.ndarray((128, S), dtype=nl.float32, buffer=nl.psum)
        nisa.nc_matmul(dst=s_ps, stationary=q_t, moving=k_t)
        s_sb = nl.ndarray((128, S), dtype=nl.float32)
        nisa.tensor_copy(dst=s_sb, src=s_ps)
        if causal:
            # keep key c for query row r = i*128 + p when r - c >= 0
            nisa.affine_select(dst=s_sb, pattern=[[-1, S]], channel_multiplier=1, on_true_tile=s_sb,
                               on_false_value=NEG, cmp_op=nl.greater_equal, offset=i * 128)
        neg_max = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.tensor_reduce(dst=neg_max, op=nl.maximum, data=s_sb, axis=1, negate=True)
        nisa.tensor_scalar(dst=neg_max, data=neg_max, op0=nl.multiply, operand0=scale)
        p_sb = nl.ndarray((128, S), dtype=nl.float32)
        row_sum = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=p_sb, op=nl.exp, data=s_sb, bias=neg_max, scale=scale, reduce_op=nl.add,
                        reduce_res=row_sum, reduce_cmd=nisa.reduce_cmd.reset_reduce)
        o_ps = nl.ndarray((128, d), dtype=nl.float32, buffer=nl.psum)
        for j in range(S // 128):
            p_t = nl.ndarray((128, 128), dtype=nl.float32)
            _transpose_into(p_t, p_sb[:, j * 128:(j + 1) * 128])
            nisa.nc_matmul(dst=o_ps, stationary=p_t, moving=v_sb[:, j, :])
        inv = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.reciprocal(dst=inv, data=row_sum)
        o_sb = nl.ndarray((128, d), dtype=nl.float32)
        nisa.tensor_scalar(dst=o_sb, data=o_ps, op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128], src=o_sb)
    return out


@nki.jit
def self_attention(q, k, v):
    return _attention(q, k, v, causal=False)


@nki.jit
def causal_attention(q, k, v):
    return _attention(q, k, v, causal=True)


def _reference(q, k, v, causal):
    q, k, v = f64(q), f64(k), f64(v)
    s = q @ k.T / math.sqrt(q.shape[1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape, dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


@pytest.mark.parametrize("seed", SEEDS)
def test_fused_self_attention(seed):
    rng = np.random.default_rng(seed)
    q, k, v = (sample(rng, (256, 64)) for _ in range(3))
    assert_close(self_attention(q, k, v), _reference(q, k, v, False), tol=1e-4)
    ops = opcodes(self_attention.last_result.trace)
    assert ops.count("MATMUL") == 2 * (1 + 2)
    assert "AFFINE_SELECT" not in ops


@pytest.mark.parametrize("seed", SEEDS)
def test_causal_attention_with_affine_select(seed):
    rng = np.random.default_rng(seed)
    q, k, v = (sample(rng, (256, 64)) for _ in range(3))
    assert_close(causal_attention(q, k, v), _reference(q, k, v, True), tol=1e-4)
    trace = causal_attention.last_result.trace
    selects = [i for i in trace.instructions if i.opcode == "AFFINE_SELECT"]
    assert len(selects) == 2 and all(i.engine == "pool" for i in selects)
