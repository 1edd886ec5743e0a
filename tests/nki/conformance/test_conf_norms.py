"""Conformance: RMSNorm, LayerNorm (with and without bn_stats/bn_aggr) and softmax."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

norms = kernels("norms")
softmax = kernels("softmax")
DTYPES = [np.float32, bf16]
IDS = ["fp32", "bf16"]


def rmsnorm_ref(x, g, eps=1e-6):
    x = f64(x)
    return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps) * f64(g)


def layernorm_ref(x, g, b, eps=1e-5):
    x = f64(x)
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * f64(g) + f64(b)


def softmax_ref(x):
    x = f64(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("rows", [256, 300], ids=["full_tiles", "ragged_tile"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_rmsnorm(seed, dtype, rows):
    rng = np.random.default_rng(seed)
    x, g = sample(rng, (rows, 512), dtype), sample(rng, (1, 512), dtype)
    x[5] = 0  # an all-zero row: only eps keeps rsqrt finite
    out = norms.rmsnorm(x, g)
    assert_matches(out, rmsnorm_ref(x, g))


@pytest.mark.parametrize("kernel", ["layernorm", "layernorm_bn"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm(seed, dtype, kernel):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 1024), dtype) + np.asarray(3.0, dtype)  # a non-zero mean to subtract
    g, b = sample(rng, (1, 1024), dtype), sample(rng, (1, 1024), dtype)
    fn = getattr(norms, kernel)
    out = fn(x, g, b)
    assert out.dtype == np.dtype(dtype)
    assert_matches(out, layernorm_ref(x, g, b))
    if kernel == "layernorm_bn":
        ops = [i.opcode for i in fn.last_result.trace.instructions]
        assert ops.count("BN_STATS") == 2 * 2 and ops.count("BN_AGGR") == 2


@pytest.mark.parametrize("kernel", ["softmax_language", "softmax_isa"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_is_numerically_stable(seed, dtype, kernel):
    rng = np.random.default_rng(seed)
    # Magnitudes up to 300: exp overflows fp32 unless the row max is subtracted first.
    x = sample(rng, (256, 512), dtype, decades=(-2.0, 2.5))
    out = getattr(softmax, kernel)(x)
    ref = softmax_ref(x)
    assert_matches(out, ref)
    np.testing.assert_allclose(f64(out).sum(axis=1), 1.0, rtol=2e-2 if dtype is bf16 else 1e-5)


@pytest.mark.parametrize("shape", [(200, 300), (128, 512), (77, 1)])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_with_masked_edge_tiles(seed, dtype, shape):
    rng = np.random.default_rng(seed)
    x = sample(rng, shape, dtype, decades=(-2.0, 2.5))
    out = softmax.softmax_ragged(x)
    assert_matches(out, softmax_ref(x))
