"""Single-head fused self-attention, softmax(Q K^T / sqrt(d)) V, optionally causal (legacy NKI dialect).

Layouts: q and k arrive transposed ([d, S], head dim on the partitions) so QK^T
contracts over partitions; v arrives as [S, d]. Scores for 128 queries against
all S keys fit one PSUM bank (S <= 512).
"""

import math

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

MASKED = -30000.0  # stands for -inf: exp() of it (scaled) underflows to exactly 0


def _attention(qT, kT, v, out, causal):
    d, S = qT.shape
    scale = 1.0 / math.sqrt(d)
    k_sb = nl.load(kT)
    v_sb = nl.ndarray((S // 128, nl.par_dim(128), d), dtype=v.dtype, buffer=nl.sbuf)
    for j in nl.affine_range(S // 128):
        v_sb[j] = nl.load(v[j * 128:(j + 1) * 128, :])
    i_q = nl.arange(128)[:, None]
    i_k = nl.arange(S)[None, :]
    for i in nl.affine_range(S // 128):
        q_sb = nl.load(qT[:, i * 128:(i + 1) * 128])
        scores = nl.copy(nisa.nc_matmul(q_sb, k_sb), dtype=nl.float32)  # [128 queries, S keys]
        if causal:
            scores = nisa.affine_select(pred=(i * 128 + i_q - i_k >= 0), on_true_tile=scores,
                                        on_false_value=MASKED)
        neg_max = nisa.tensor_reduce(op=nl.max, data=scores, axis=(1,), negate=True, keepdims=True)
        neg_max = nl.multiply(neg_max, scale)
        row_sum = nl.ndarray((128, 1), dtype=nl.float32, buffer=nl.sbuf)
        probs = nisa.activation_reduce(op=nl.exp, data=scores, bias=neg_max, scale=scale, reduce_op=nl.add,
                                       reduce_res=row_sum, dtype=v.dtype)
        acc = nl.zeros((128, d), nl.float32, buffer=nl.psum)
        for j in nl.affine_range(S // 128):
            pT = nl.copy(nisa.nc_transpose(probs[:, j * 128:(j + 1) * 128]), dtype=v.dtype)
            acc += nisa.nc_matmul(pT, v_sb[j])
        res = nl.multiply(acc, nl.reciprocal(row_sum), dtype=v.dtype)
        nl.store(out[i * 128:(i + 1) * 128, :], value=res)


@nki.jit
def attention(qT, kT, v):
    out = nl.ndarray(v.shape, dtype=v.dtype, buffer=nl.shared_hbm)  # shared_hbm only at kernel top level
    _attention(qT, kT, v, out, causal=False)
    return out


@nki.jit
def causal_attention(qT, kT, v):
    out = nl.ndarray(v.shape, dtype=v.dtype, buffer=nl.shared_hbm)
    _attention(qT, kT, v, out, causal=True)
    return out
