"""The same computation written in each dialect gives the same outputs and the same instruction trace
(opcodes, engines and operand regions), so the cost model needs no dialect knowledge."""

import neuronxcc.nki as legacy
import neuronxcc.nki.isa as lnisa
import neuronxcc.nki.language as lnl
import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import SEEDS, assert_close, f64, sample


@legacy.jit
def matmul_v1(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = lnl.ndarray((M, N), dtype=lnl.float32, buffer=lnl.shared_hbm)
    for m in lnl.affine_range(M // 128):
        for n in lnl.affine_range(N // 512):
            acc = lnl.zeros((128, 512), lnl.float32, buffer=lnl.psum)
            for k in lnl.affine_range(K // 128):
                lt = lnl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                rt = lnl.load(rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                acc += lnisa.nc_matmul(lt, rt)
            res = lnisa.tensor_copy(acc)
            lnl.store(out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=res)
    return out


@nki.jit
def matmul_v2(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for m in range(M // 128):
        for n in range(N // 512):
            acc = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum)
            for k in range(K // 128):
                lt = nl.ndarray((128, 128), dtype=lhsT.dtype)
                rt = nl.ndarray((128, 512), dtype=rhs.dtype)
                nisa.dma_copy(dst=lt, src=lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                nisa.dma_copy(dst=rt, src=rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                nisa.nc_matmul(dst=acc, stationary=lt, moving=rt)
            res = nl.ndarray((128, 512), dtype=nl.float32)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], src=res)
    return out


@legacy.jit
def rmsnorm_v1(x, eps):
    N, D = x.shape
    out = lnl.ndarray((N, D), dtype=x.dtype, buffer=lnl.shared_hbm)
    for i in lnl.affine_range(N // 128):
        xt = lnl.load(x[i * 128:(i + 1) * 128, :])
        ssum = lnl.ndarray((128, 1), dtype=lnl.float32)
        lnisa.activation(op=lnl.square, data=xt, reduce_op=lnl.add, reduce_res=ssum)
        ms = lnisa.tensor_scalar(ssum, lnl.multiply, 1.0 / D, op1=lnl.add, operand1=eps)
        rstd = lnisa.activation(op=lnl.rsqrt, data=ms)
        y = lnisa.tensor_scalar(xt, lnl.multiply, rstd)
        lnl.store(out[i * 128:(i + 1) * 128, :], value=y)
    return out


@nki.jit
def rmsnorm_v2(x, eps):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in range(N // 128):
        xt = nl.ndarray((128, D), dtype=x.dtype)
        nisa.dma_copy(dst=xt, src=x[i * 128:(i + 1) * 128, :])
        sq = nl.ndarray((128, D), dtype=x.dtype)
        ssum = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=sq, op=nl.square, data=xt, reduce_op=nl.add, reduce_res=ssum,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        ms = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.tensor_scalar(dst=ms, data=ssum, op0=nl.multiply, operand0=1.0 / D, op1=nl.add, operand1=eps)
        rstd = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=rstd, op=nl.rsqrt, data=ms)
        y = nl.ndarray((128, D), dtype=x.dtype)
        nisa.tensor_scalar(dst=y, data=xt, op0=nl.multiply, operand0=rstd)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128, :], src=y)
    return out


@legacy.jit
def softmax_v1(x):
    N, D = x.shape
    out = lnl.ndarray((N, D), dtype=x.dtype, buffer=lnl.shared_hbm)
    for i in lnl.affine_range(N // 128):
        xt = lnl.load(x[i * 128:(i + 1) * 128, :])
        neg_max = lnisa.tensor_reduce(lnl.maximum, xt, axis=1, negate=True, keepdims=True)
        total = lnl.ndarray((128, 1), dtype=lnl.float32)
        e = lnisa.activation(op=lnl.exp, data=xt, bias=neg_max, reduce_op=lnl.add, reduce_res=total)
        inv = lnisa.reciprocal(total)
        y = lnisa.tensor_scalar(e, lnl.multiply, inv)
        lnl.store(out[i * 128:(i + 1) * 128, :], value=y)
    return out


@nki.jit
def softmax_v2(x):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in range(N // 128):
        xt = nl.ndarray((128, D), dtype=x.dtype)
        nisa.dma_copy(dst=xt, src=x[i * 128:(i + 1) * 128, :])
        neg_max = nl.ndarray((128, 1), dtype=x.dtype)
        nisa.tensor_reduce(dst=neg_max, op=nl.maximum, data=xt, axis=1, negate=True, keepdims=True)
        e = nl.ndarray((128, D), dtype=x.dtype)
        total = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=e, op=nl.exp, data=xt, bias=neg_max, reduce_op=nl.add, reduce_res=total,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        inv = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.reciprocal(dst=inv, data=total)
        y = nl.ndarray((128, D), dtype=x.dtype)
        nisa.tensor_scalar(dst=y, data=e, op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128, :], src=y)
    return out


def _signature(trace) -> list[tuple]:
    """Per instruction: opcode, engine and each operand's buffer, dtype, partitions and access pattern."""
    def region(a):
        return (a.buffer, a.dtype, a.partition_start, a.partitions, a.offset, a.pattern, a.free_elems)
    return [(i.opcode, i.engine, tuple(region(a) for a in i.dst), tuple(region(a) for a in i.src))
            for i in trace.instructions]


def _compare(v1, v2, args, ref):
    out1, out2 = v1(*args), v2(*args)
    np.testing.assert_array_equal(out1, out2)
    assert_close(out2, ref, tol=1e-5)
    t1, t2 = v1.last_result.trace, v2.last_result.trace
    assert (t1.dialect, t2.dialect) == ("v1", "v2")
    assert _signature(t1) == _signature(t2)
    return t2


@pytest.mark.parametrize("seed", SEEDS)
def test_matmul_in_both_dialects(seed):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (256, 256)), sample(rng, (256, 1024))
    trace = _compare(matmul_v1, matmul_v2, (lhsT, rhs), f64(lhsT).T @ f64(rhs))
    assert [i.opcode for i in trace.instructions].count("MATMUL") == 8


@pytest.mark.parametrize("seed", SEEDS)
def test_rmsnorm_in_both_dialects(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 512))
    xf = f64(x)
    ref = xf / np.sqrt((xf * xf).mean(axis=1, keepdims=True) + 1e-6)
    _compare(rmsnorm_v1, rmsnorm_v2, (x, 1e-6), ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_in_both_dialects(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 512))
    xf = f64(x)
    e = np.exp(xf - xf.max(axis=1, keepdims=True))
    _compare(softmax_v1, softmax_v2, (x,), e / e.sum(axis=1, keepdims=True))
