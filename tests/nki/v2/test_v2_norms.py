"""Current-dialect normalisation kernels: RMSNorm, LayerNorm (bn_stats/bn_aggr) and softmax vs float64."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import SEEDS, assert_close, f64, opcodes, sample


@nki.jit
def rmsnorm(x, w, eps=1e-6):
    """y = x / sqrt(mean(x^2) + eps) * w; rows tiled by 128 with a ragged last tile."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    w_sb = nl.ndarray((128, D), dtype=nl.float32)
    # Broadcast the weight row to every partition straight from HBM (stride-0 partition view).
    nisa.dma_copy(dst=w_sb, src=w.reshape((1, D)).broadcast_to((128, D)))
    for i in range((N + 127) // 128):
        p = min(128, N - i * 128)
        x_sb = nl.ndarray((128, D), dtype=x.dtype)
        nisa.dma_copy(dst=x_sb[:p], src=x[i * 128:i * 128 + p])
        sq = nl.ndarray((128, D), dtype=nl.float32)
        ssum = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=sq[:p], op=nl.square, data=x_sb[:p], reduce_op=nl.add, reduce_res=ssum[:p],
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        rstd = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.tensor_scalar(dst=rstd[:p], data=ssum[:p], op0=nl.multiply, operand0=1.0 / D, op1=nl.add, operand1=eps)
        nisa.activation(dst=rstd[:p], op=nl.rsqrt, data=rstd[:p])
        y = nl.ndarray((128, D), dtype=x.dtype)
        nisa.scalar_tensor_tensor(dst=y[:p], data=x_sb[:p], op0=nl.multiply, operand0=rstd[:p], op1=nl.multiply,
                                  operand1=w_sb[:p])
        nisa.dma_copy(dst=out[i * 128:i * 128 + p], src=y[:p])
    return out


@nki.jit
def layernorm(x, gamma, beta, eps=1e-5):
    """Mean and variance from bn_stats over 512-element chunks aggregated by one bn_aggr."""
    N, D = x.shape
    chunks = D // nl.tile_size.bn_stats_fmax
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g_sb = nl.ndarray((128, D), dtype=nl.float32)
    b_sb = nl.ndarray((128, D), dtype=nl.float32)
    nisa.dma_copy(dst=g_sb, src=gamma.reshape((1, D)).broadcast_to((128, D)))
    nisa.dma_copy(dst=b_sb, src=beta.reshape((1, D)).broadcast_to((128, D)))
    for i in range(N // 128):
        x_sb = nl.ndarray((128, D), dtype=x.dtype)
        nisa.dma_copy(dst=x_sb, src=x[i * 128:(i + 1) * 128])
        stats = nl.ndarray((128, chunks, 6), dtype=nl.float32)
        xr = x_sb.reshape((128, chunks, nl.tile_size.bn_stats_fmax))
        for c in range(chunks):
            nisa.bn_stats(dst=stats[:, c, :], data=xr[:, c, :])
        mv = nl.ndarray((128, 2), dtype=nl.float32)
        nisa.bn_aggr(dst=mv, data=stats)
        rstd = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.tensor_scalar(dst=rstd, data=mv[:, 1:2], op0=nl.add, operand0=eps)
        nisa.activation(dst=rstd, op=nl.rsqrt, data=rstd)
        y = nl.ndarray((128, D), dtype=nl.float32)
        nisa.tensor_scalar(dst=y, data=x_sb, op0=nl.subtract, operand0=mv[:, 0:1], op1=nl.multiply, operand1=rstd)
        nisa.tensor_tensor(dst=y, data1=y, data2=g_sb, op=nl.multiply)
        res = nl.ndarray((128, D), dtype=x.dtype)
        nisa.tensor_tensor(dst=res, data1=y, data2=b_sb, op=nl.add)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128], src=res)
    return out


@nki.jit
def softmax(x):
    """Row softmax: max, exp(x - max) with the row sum from the activation's reduce registers, 1/sum."""
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for i in range(N // 128):
        x_sb = nl.ndarray((128, D), dtype=x.dtype)
        nisa.dma_copy(dst=x_sb, src=x[i * 128:(i + 1) * 128])
        neg_max = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.tensor_reduce(dst=neg_max, op=nl.maximum, data=x_sb, axis=1, negate=True)
        e = nl.ndarray((128, D), dtype=nl.float32)
        total = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.activation(dst=e, op=nl.exp, data=x_sb, bias=neg_max, reduce_op=nl.add, reduce_res=total,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        inv = nl.ndarray((128, 1), dtype=nl.float32)
        nisa.reciprocal(dst=inv, data=total)
        y = nl.ndarray((128, D), dtype=x.dtype)
        nisa.tensor_scalar(dst=y, data=e, op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128], src=y)
    return out


def _rms_ref(x, w, eps=1e-6):
    x = f64(x)
    return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps) * f64(w)


@pytest.mark.parametrize("seed", SEEDS)
def test_rmsnorm(seed):
    rng = np.random.default_rng(seed)
    x, w = sample(rng, (200, 256)), sample(rng, (256,))
    assert_close(rmsnorm(x, w), _rms_ref(x, w), tol=1e-5)
    ops = opcodes(rmsnorm.last_result.trace)
    assert ops.count("ACTIVATE") == 4 and ops.count("SCALAR_TENSOR_TENSOR") == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm_with_bn_stats(seed):
    rng = np.random.default_rng(seed)
    x, g, b = sample(rng, (256, 1024)), sample(rng, (1024,)), sample(rng, (1024,))
    xf = f64(x)
    mean, var = xf.mean(axis=1, keepdims=True), xf.var(axis=1, keepdims=True)
    ref = (xf - mean) / np.sqrt(var + 1e-5) * f64(g) + f64(b)
    assert_close(layernorm(x, g, b), ref, tol=1e-4)
    ops = opcodes(layernorm.last_result.trace)
    assert ops.count("BN_STATS") == 2 * 2 and ops.count("BN_AGGR") == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 512), decades=(-1, 1))
    xf = f64(x)
    e = np.exp(xf - xf.max(axis=1, keepdims=True))
    assert_close(softmax(x), e / e.sum(axis=1, keepdims=True), tol=1e-5)
    assert opcodes(softmax.last_result.trace)[:6] == ["DMA", "TENSOR_REDUCE", "ACTIVATE", "RECIPROCAL",
                                                       "TENSOR_SCALAR", "DMA"]
