"""Current-dialect sequence and layout kernels: Mamba scan, depthwise conv1d, RoPE, cumsum,
3-D transpose and max-pool, each against a float64 numpy reference."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import SEEDS, assert_close, bf16, f64, opcodes, sample, target


@nki.jit
def mamba_scan(delta, u, A, B, C):
    """Selective scan per channel c (partition) and state s:
    h[t] = exp(delta[t] * A[c, s]) * h[t-1] + delta[t] * B[s, t] * u[t];  y[t] = sum_s C[s, t] * h[t]."""
    channels, L = delta.shape
    states = A.shape[1]
    out = nl.ndarray((channels, L), dtype=nl.float32, buffer=nl.shared_hbm)
    d_sb, u_sb, a_sb = nl.ndarray((128, L), nl.float32), nl.ndarray((128, L), nl.float32), nl.ndarray(
        (128, states), nl.float32)
    nisa.dma_copy(dst=d_sb, src=delta)
    nisa.dma_copy(dst=u_sb, src=u)
    nisa.dma_copy(dst=a_sb, src=A)
    du = nl.ndarray((128, L), nl.float32)
    nisa.tensor_tensor(dst=du, data1=d_sb, data2=u_sb, op=nl.multiply)
    y = nl.ndarray((128, L), nl.float32)
    for s in range(states):
        b_row, c_row = nl.ndarray((128, L), nl.float32), nl.ndarray((128, L), nl.float32)
        nisa.dma_copy(dst=b_row, src=B[s:s + 1, :].broadcast_to((128, L)))
        nisa.dma_copy(dst=c_row, src=C[s:s + 1, :].broadcast_to((128, L)))
        decay = nl.ndarray((128, L), nl.float32)
        nisa.activation(dst=decay, op=nl.exp, data=d_sb, scale=a_sb[:, s:s + 1])
        drive = nl.ndarray((128, L), nl.float32)
        nisa.tensor_tensor(dst=drive, data1=du, data2=b_row, op=nl.multiply)
        h = nl.ndarray((128, L), nl.float32)
        nisa.tensor_tensor_scan(dst=h, data0=decay, data1=drive, initial=0.0, op0=nl.multiply, op1=nl.add)
        if s == 0:
            nisa.tensor_tensor(dst=y, data1=h, data2=c_row, op=nl.multiply)
        else:
            nisa.tensor_tensor(dst=h, data1=h, data2=c_row, op=nl.multiply)
            nisa.tensor_tensor(dst=y, data1=y, data2=h, op=nl.add)
    nisa.dma_copy(dst=out, src=y)
    return out


@nki.jit
def depthwise_conv1d(x, w):
    """out[c, t] = sum_k w[c, k] * x[c, t + k] (valid padding), one channel per partition."""
    channels, L = x.shape
    K = w.shape[1]
    Lo = L - K + 1
    out = nl.ndarray((channels, Lo), dtype=x.dtype, buffer=nl.shared_hbm)
    x_sb, w_sb = nl.ndarray((channels, L), x.dtype), nl.ndarray((channels, K), nl.float32)
    nisa.dma_copy(dst=x_sb, src=x)
    nisa.dma_copy(dst=w_sb, src=w)
    acc = nl.ndarray((channels, Lo), nl.float32)
    nisa.tensor_scalar(dst=acc, data=x_sb[:, 0:Lo], op0=nl.multiply, operand0=w_sb[:, 0:1])
    for k in range(1, K):
        nisa.scalar_tensor_tensor(dst=acc, data=x_sb[:, k:k + Lo], op0=nl.multiply, operand0=w_sb[:, k:k + 1],
                                  op1=nl.add, operand1=acc)
    res = nl.ndarray((channels, Lo), x.dtype)
    nisa.tensor_copy(dst=res, src=acc)
    nisa.dma_copy(dst=out, src=res)
    return out


@nki.jit
def rope(x, cos, sin):
    """Rotary embedding on interleaved pairs: (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos)."""
    S, D = x.shape
    out = nl.ndarray((S, D), dtype=x.dtype, buffer=nl.shared_hbm)
    x_sb, c_sb, s_sb = nl.ndarray((S, D), x.dtype), nl.ndarray((S, D // 2), nl.float32), nl.ndarray(
        (S, D // 2), nl.float32)
    nisa.dma_copy(dst=x_sb, src=x)
    nisa.dma_copy(dst=c_sb, src=cos)
    nisa.dma_copy(dst=s_sb, src=sin)
    pairs = x_sb.reshape((S, D // 2, 2))
    x0, x1 = pairs[:, :, 0], pairs[:, :, 1]  # stride-2 views
    y = nl.ndarray((S, D), nl.float32)
    y0, y1 = y[:, 0::2], y[:, 1::2]
    t = nl.ndarray((S, D // 2), nl.float32)
    nisa.tensor_tensor(dst=y0, data1=x0, data2=c_sb, op=nl.multiply)
    nisa.tensor_tensor(dst=t, data1=x1, data2=s_sb, op=nl.multiply)
    nisa.tensor_tensor(dst=y0, data1=y0, data2=t, op=nl.subtract)
    nisa.tensor_tensor(dst=y1, data1=x0, data2=s_sb, op=nl.multiply)
    nisa.tensor_tensor(dst=t, data1=x1, data2=c_sb, op=nl.multiply)
    nisa.tensor_tensor(dst=y1, data1=y1, data2=t, op=nl.add)
    res = nl.ndarray((S, D), x.dtype)
    nisa.tensor_copy(dst=res, src=y)
    nisa.dma_copy(dst=out, src=res)
    return out


@nki.jit
def cumsum(x):
    """Running sum along each row, in 512-column chunks carried by the scan's initial value."""
    P, L = x.shape
    out = nl.ndarray((P, L), dtype=nl.float32, buffer=nl.shared_hbm)
    x_sb = nl.ndarray((P, L), nl.float32)
    nisa.dma_copy(dst=x_sb, src=x)
    zeros = nl.zeros((P, 512), nl.float32)
    r = nl.ndarray((P, L), nl.float32)
    for c in range(L // 512):
        init = 0.0 if c == 0 else r[:, c * 512 - 1:c * 512]
        nisa.tensor_tensor_scan(dst=r[:, c * 512:(c + 1) * 512], data0=zeros, data1=x_sb[:, c * 512:(c + 1) * 512],
                                initial=init, op0=nl.add, op1=nl.add)
    nisa.dma_copy(dst=out, src=r)
    return out


@nki.jit
def transpose_3d(x):
    """out[c, b, a] = x[a, b, c] by one DMA transpose (trn2+)."""
    A, B, C = x.shape
    out = nl.ndarray((C, B, A), dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((C, B, A), dtype=x.dtype)
    nisa.dma_transpose(dst=t, src=x)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def maxpool_2x2(x):
    """2x2 max pooling with stride 2 over [C, H, W]: a reshape/permute view and one tensor_reduce."""
    C, H, W = x.shape
    out = nl.ndarray((C, H // 2, W // 2), dtype=x.dtype, buffer=nl.shared_hbm)
    x_sb = nl.ndarray((C, H, W), x.dtype)
    nisa.dma_copy(dst=x_sb, src=x)
    windows = x_sb.reshape((C, H // 2, 2, W // 2, 2)).permute((0, 1, 3, 2, 4))
    pooled = nl.ndarray((C, H // 2, W // 2), x.dtype)
    nisa.tensor_reduce(dst=pooled, op=nl.maximum, data=windows, axis=(3, 4))
    nisa.dma_copy(dst=out, src=pooled)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_mamba_scan(seed):
    rng = np.random.default_rng(seed)
    L, S = 256, 4
    delta = rng.uniform(0.01, 0.2, (128, L)).astype(np.float32)
    u, A = sample(rng, (128, L)), -rng.uniform(0.5, 2.0, (128, S)).astype(np.float32)
    B, C = sample(rng, (S, L)), sample(rng, (S, L))
    d, uu, A64, B64, C64 = f64(delta), f64(u), f64(A), f64(B), f64(C)
    ref = np.zeros((128, L))
    for s in range(S):
        h = np.zeros(128)
        for t in range(L):
            h = np.exp(d[:, t] * A64[:, s]) * h + d[:, t] * B64[s, t] * uu[:, t]
            ref[:, t] += C64[s, t] * h
    assert_close(mamba_scan(delta, u, A, B, C), ref, tol=1e-4)
    assert opcodes(mamba_scan.last_result.trace).count("TENSOR_TENSOR_SCAN") == S


@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_depthwise_conv1d(seed, dtype):
    rng = np.random.default_rng(seed)
    x, w = sample(rng, (128, 300), dtype), sample(rng, (128, 5))
    xf, wf = f64(x), f64(w)
    ref = sum(wf[:, k:k + 1] * xf[:, k:k + 296] for k in range(5))
    assert_close(depthwise_conv1d(x, w), ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_rope(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (128, 64))
    theta = rng.uniform(0, np.pi, (128, 32))
    cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    xf = f64(x)
    x0, x1 = xf[:, 0::2], xf[:, 1::2]
    ref = np.empty_like(xf)
    ref[:, 0::2] = x0 * f64(cos) - x1 * f64(sin)
    ref[:, 1::2] = x0 * f64(sin) + x1 * f64(cos)
    assert_close(rope(x, cos, sin), ref)
    dsts = [i.dst[0] for i in rope.last_result.trace.instructions if i.opcode == "TENSOR_TENSOR"]
    assert dsts[0].pattern == ((2, 32),)  # the even-lane view writes every other element


@pytest.mark.parametrize("seed", SEEDS)
def test_cumsum(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (128, 1024))
    assert_close(cumsum(x), np.cumsum(f64(x), axis=1), tol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_3d_transpose_on_trn2(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (4, 8, 64), bf16)
    with target("trn2"):
        out = transpose_3d(x)
    np.testing.assert_array_equal(out, x.transpose(2, 1, 0))
    dma = transpose_3d.last_result.trace.instructions[0]
    assert dma.opcode == "DMA" and dma.attrs["transpose"]


@pytest.mark.parametrize("seed", SEEDS)
def test_maxpool(seed):
    rng = np.random.default_rng(seed)
    x = sample(rng, (128, 16, 16))
    ref = f64(x).reshape(128, 8, 2, 8, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(f64(maxpool_2x2(x)), ref)
    red = [i for i in maxpool_2x2.last_result.trace.instructions if i.opcode == "TENSOR_REDUCE"][0]
    assert red.src[0].pattern == ((32, 8), (2, 8), (16, 2), (1, 2))
