"""Conformance: SPMD grid launches (kernel[2, 2]) and masked edge tiles."""

import math

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, opcodes, sample

grid = kernels("grid")
DTYPES = [np.float32, bf16]
IDS = ["fp32", "bf16"]


def gelu_ref(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / np.sqrt(2.0)))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_spmd_grid_covers_every_block(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (512, 1024), dtype), sample(rng, (512, 1024), dtype)
    launch = grid.spmd_scaled_add[2, 2]
    out = launch(a, b)
    assert_matches(out, 2 * f64(a) + f64(b))
    trace = launch.last_result.trace
    assert {ins.instance for ins in trace.instructions} == {0, 1, 2, 3}
    assert opcodes(trace).count("DMA") == 4 * 2 * 3  # per instance: 2 row tiles x (2 loads + 1 store)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_spmd_matmul(seed, dtype):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (256, 256), dtype), sample(rng, (256, 1024), dtype)
    launch = grid.spmd_matmul[2, 2]
    out = launch(lhsT, rhs)
    assert_matches(out, f64(lhsT).T @ f64(rhs))


@pytest.mark.parametrize("shape", [(300, 700), (128, 512), (77, 1030)])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_masked_edge_tiles(seed, dtype, shape):
    rng = np.random.default_rng(seed)
    x, bias = sample(rng, shape, dtype), sample(rng, (1, shape[1]), dtype)
    out = grid.masked_gelu_bias(x, bias)
    assert_matches(out, gelu_ref(f64(x) + f64(bias)))
    tiles = math.ceil(shape[0] / 128) * math.ceil(shape[1] / 512)
    assert opcodes(grid.masked_gelu_bias.last_result.trace).count("ACTIVATE") == tiles


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_masked_matmul_with_ragged_shapes(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (200, 300), dtype), sample(rng, (300, 600), dtype)
    out = grid.masked_matmul(a, b)
    assert_matches(out, f64(a) @ f64(b))
