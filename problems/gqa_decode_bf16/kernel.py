"""GQA decode: for each (batch, kv head), the group's queries score all cached keys, softmax, then P @ V.

Baseline: one (batch, kv head) pair at a time, so score and softmax tiles use only
GROUP (4) partitions; the probabilities are transposed 128 keys at a time on the Tensor engine.
"""

import math

import nki
import nki.isa as nisa
import nki.language as nl

TILE_S = 512  # keys per score matmul
PV_TILE = 128  # keys per P @ V matmul (contraction over partitions)


@nki.jit
def gqa_decode(q, kT, v):
    B, HQ, D = q.shape
    _, HKV, _, S = kT.shape
    G = HQ // HKV
    assert S % TILE_S == 0 and S % PV_TILE == 0 and D <= 128
    scale = 1.0 / math.sqrt(D)
    out = nl.ndarray((B, HQ, D), dtype=q.dtype, buffer=nl.shared_hbm)

    for b in range(B):
        for h in range(HKV):
            heads = slice(h * G, (h + 1) * G)
            # The group's queries, transposed to [D, G] so D is contracted over partitions.
            q_sb = nl.ndarray((G, D), dtype=q.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=q_sb, src=q[b, heads, :])
            qT_ps = nl.ndarray((D, G), dtype=q.dtype, buffer=nl.psum)
            nisa.nc_transpose(dst=qT_ps, data=q_sb)
            qT = nl.ndarray((D, G), dtype=q.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=qT, src=qT_ps)

            scores = nl.ndarray((G, S), dtype=nl.float32, buffer=nl.sbuf)
            for j in range(S // TILE_S):
                k_tile = nl.ndarray((D, TILE_S), dtype=kT.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=k_tile, src=kT[b, h, :, j * TILE_S:(j + 1) * TILE_S])
                s_ps = nl.ndarray((G, TILE_S), dtype=nl.float32, buffer=nl.psum)
                nisa.nc_matmul(dst=s_ps, stationary=qT, moving=k_tile)
                nisa.tensor_copy(dst=scores[:, j * TILE_S:(j + 1) * TILE_S], src=s_ps)

            # softmax over the keys of scale * scores
            neg_max = nl.ndarray((G, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_reduce(dst=neg_max, op=nl.maximum, data=scores, axis=1, negate=True, keepdims=True)
            nisa.tensor_scalar(dst=neg_max, data=neg_max, op0=nl.multiply, operand0=scale)
            probs = nl.ndarray((G, S), dtype=v.dtype, buffer=nl.sbuf)
            nisa.activation(dst=probs, op=nl.exp, data=scores, bias=neg_max, scale=scale)
            row_sum = nl.ndarray((G, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_reduce(dst=row_sum, op=nl.add, data=probs, axis=1, keepdims=True)
            inv_sum = nl.ndarray((G, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.reciprocal(dst=inv_sum, data=row_sum)

            acc = nl.ndarray((G, D), dtype=nl.float32, buffer=nl.psum)
            for j in range(S // PV_TILE):
                pT_ps = nl.ndarray((PV_TILE, G), dtype=v.dtype, buffer=nl.psum)
                nisa.nc_transpose(dst=pT_ps, data=probs[:, j * PV_TILE:(j + 1) * PV_TILE])
                pT = nl.ndarray((PV_TILE, G), dtype=v.dtype, buffer=nl.sbuf)
                nisa.tensor_copy(dst=pT, src=pT_ps)
                v_tile = nl.ndarray((PV_TILE, D), dtype=v.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=v_tile, src=v[b, h, j * PV_TILE:(j + 1) * PV_TILE, :])
                nisa.nc_matmul(dst=acc, stationary=pT, moving=v_tile)

            res = nl.ndarray((G, D), dtype=q.dtype, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=res, data=acc, op0=nl.multiply, operand0=inv_sum)
            nisa.dma_copy(dst=out[b, heads, :], src=res)
    return out
