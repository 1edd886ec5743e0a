"""Conformance: selective scan (tensor_tensor_scan), cumsum (scan and triangular matmul), causal conv1d."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

seq = kernels("sequence")
DTYPES = [np.float32, bf16]
IDS = ["fp32", "bf16"]


def selective_scan_ref(delta, u, A, B, C):
    delta, u, A, B, C = map(f64, (delta, u, A, B, C))
    ch, L = u.shape
    y = np.zeros((ch, L))
    for n in range(A.shape[1]):
        h = np.zeros(ch)
        for t in range(L):
            h = np.exp(delta[:, t] * A[:, n]) * h + delta[:, t] * B[n, t] * u[:, t]
            y[:, t] += C[n, t] * h
    return y


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_selective_scan(seed, dtype):
    rng = np.random.default_rng(seed)
    ch, L, N = 128, 256, 4
    delta = rng.uniform(0.001, 0.5, (ch, L)).astype(dtype)  # softplus output: positive step sizes
    A = -np.exp(rng.uniform(-1.0, 1.5, (ch, N))).astype(dtype)  # negative: a decaying state
    u, B, C = sample(rng, (ch, L), dtype), sample(rng, (N, L), dtype), sample(rng, (N, L), dtype)
    out = seq.selective_scan(delta, u, A, B, C)
    assert_matches(out, selective_scan_ref(delta, u, A, B, C), tol=1e-4 if dtype is np.float32 else None)
    ops = [i.opcode for i in seq.selective_scan.last_result.trace.instructions]
    assert ops.count("TENSOR_TENSOR_SCAN") == N * (L // 128)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_cumsum_along_free_axis(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 512), dtype)
    out = seq.cumsum_free(x)
    assert_matches(out, np.cumsum(f64(x), axis=1))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_cumsum_along_partitions(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (384, 256), dtype)
    out = seq.cumsum_rows(x)
    assert_matches(out, np.cumsum(f64(x), axis=0))
    ops = [i.opcode for i in seq.cumsum_rows.last_result.trace.instructions]
    assert ops.count("MATMUL") == 3 + (0 + 1 + 2)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_depthwise_conv1d_causal(seed, dtype):
    rng = np.random.default_rng(seed)
    x, w = sample(rng, (256, 384), dtype), sample(rng, (256, 4), dtype)
    out = seq.depthwise_conv1d_causal(x, w)
    xp = np.pad(f64(x), ((0, 0), (3, 0)))
    ref = sum(f64(w)[:, k:k + 1] * xp[:, k:k + 384] for k in range(4))
    assert_matches(out, ref)
