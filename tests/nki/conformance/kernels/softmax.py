"""Numerically stable row-wise softmax (legacy NKI dialect), in two common styles."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def softmax_language(x):
    """softmax over the last axis with nl.* calls: subtract the row max, exp, divide by the sum."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        row_max = nl.max(x_t, axis=1, keepdims=True)
        e = nl.exp(nl.subtract(x_t, row_max), dtype=nl.float32)
        total = nl.sum(e, axis=1, keepdims=True)
        y = nl.divide(e, total, dtype=x.dtype)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out


@nki.jit
def softmax_isa(x):
    """The same with ISA calls: exp(x - max) and its row sum in one activation_reduce."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        neg_max = nisa.tensor_reduce(op=nl.max, data=x_t, axis=(1,), negate=True, keepdims=True,
                                     dtype=nl.float32)
        total = nl.ndarray((128, 1), dtype=nl.float32, buffer=nl.sbuf)
        e = nisa.activation_reduce(op=nl.exp, data=x_t, bias=neg_max, reduce_op=nl.add, reduce_res=total,
                                   dtype=nl.float32)
        inv = nisa.reciprocal(total)
        y = nisa.tensor_scalar(data=e, op0=nl.multiply, operand0=inv, dtype=x.dtype)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out


@nki.jit
def softmax_ragged(x):
    """softmax of x [N, D] with D <= 512 through fixed 128 x 512 tiles: rows and columns past the
    edge are masked out of every instruction, reductions included."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.mgrid[0:128, 0:512]
    for t in nl.affine_range((N + 127) // 128):
        valid = (t * 128 + i_p < N) & (i_f < D)
        x_t = nl.load(x[t * 128 + i_p, i_f], mask=valid)
        row_max = nl.max(x_t, axis=1, keepdims=True, mask=valid)
        e = nl.exp(nl.subtract(x_t, row_max, mask=valid), mask=valid, dtype=nl.float32)
        total = nl.sum(e, axis=1, keepdims=True, mask=valid)
        y = nl.multiply(e, nl.reciprocal(total, mask=valid), mask=valid, dtype=x.dtype)
        nl.store(out[t * 128 + i_p, i_f], value=y, mask=valid)
    return out
