"""Conformance: RoPE (nl.mgrid), 3-D transposes (PE, Vector engine, DMA) and max-pooling."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

lay = kernels("layout")
DTYPES = [np.float32, bf16]
IDS = ["fp32", "bf16"]


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_rope(seed, dtype):
    rng = np.random.default_rng(seed)
    S, D = 256, 128
    x = sample(rng, (S, D), dtype)
    angle = np.outer(np.arange(S), 10000.0 ** (-np.arange(D // 2) / (D // 2)))
    cos, sin = np.cos(angle).astype(dtype), np.sin(angle).astype(dtype)
    out = lay.rope(x, cos, sin)
    x1, x2, c, s = f64(x[:, :D // 2]), f64(x[:, D // 2:]), f64(cos), f64(sin)
    assert_matches(out, np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=1))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_transpose_last_two_axes(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (2, 256, 384), dtype)
    out = lay.transpose_last_two(x)
    np.testing.assert_array_equal(out, x.transpose(0, 2, 1))  # a transpose moves bits, exactly


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_transpose_on_vector_engine(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (3, 32, 96), dtype)
    out = lay.transpose_last_two_vector(x)
    np.testing.assert_array_equal(out, x.transpose(0, 2, 1))
    engines = {i.engine for i in lay.transpose_last_two_vector.last_result.trace.instructions
               if i.opcode == "TRANSPOSE"}
    assert engines == {"dve"}


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_swap_outer_axes(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (96, 5, 200), dtype)
    out = lay.swap_outer_axes(x)
    np.testing.assert_array_equal(out, x.transpose(1, 0, 2))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_maxpool_2x2_stride_2(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (256, 32, 48), dtype)
    out = lay.maxpool2x2(x)
    ref = f64(x).reshape(256, 16, 2, 24, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(f64(out), ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_maxpool_3x3_same(seed, dtype):
    rng = np.random.default_rng(seed)
    x = sample(rng, (128, 20, 24), dtype)
    out = lay.maxpool3x3_same(x)
    xp = np.pad(f64(x), ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ref = np.max([xp[:, dy:dy + 20, dx:dx + 24] for dy in range(3) for dx in range(3)], axis=0)
    np.testing.assert_array_equal(f64(out), ref)

