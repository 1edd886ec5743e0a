"""Conformance: matmul kernels (tiled, blocked, with transposes) against a float64 reference."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, opcodes, sample

mm = kernels("matmul")
DTYPES = [np.float32, bf16]


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_tiled_matmul(seed, dtype):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (512, 256), dtype), sample(rng, (512, 1024), dtype)
    out = mm.matmul_tiled(lhsT, rhs)
    assert out.dtype == np.dtype(dtype)
    assert_matches(out, f64(lhsT).T @ f64(rhs))
    ops = opcodes(mm.matmul_tiled.last_result.trace)
    assert ops.count("MATMUL") == 2 * 2 * 4  # M tiles x N tiles x K tiles


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_blocked_matmul(seed, dtype):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (384, 512), dtype), sample(rng, (384, 1024), dtype)
    out = mm.matmul_blocked(lhsT, rhs)
    assert_matches(out, f64(lhsT).T @ f64(rhs))
    ops = opcodes(mm.matmul_blocked.last_result.trace)
    # Each lhs block is loaded once and reused for every N block.
    assert ops.count("DMA") == 2 * 3 + 2 * 2 * 3 + 2 * 2 * 2


@pytest.mark.parametrize("variant", ["nc_transpose", "nl_transpose", "load_transpose2d"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_matmul_with_transposed_lhs(seed, dtype, variant):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (256, 384), dtype), sample(rng, (384, 512), dtype)
    kernel = getattr(mm, f"matmul_{variant}")
    out = kernel(a, b)
    assert_matches(out, f64(a) @ f64(b))
    transposes = opcodes(kernel.last_result.trace).count("TRANSPOSE")
    assert transposes == (0 if variant == "load_transpose2d" else 2 * 3)


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_nl_matmul_transposes_x_itself(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (256, 256), dtype), sample(rng, (256, 512), dtype)
    out = mm.matmul_nl_matmul(a, b)
    assert out.dtype == np.dtype(dtype)
    assert_matches(out, f64(a) @ f64(b))


@pytest.mark.parametrize("dtype", DTYPES, ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_matmul_with_transposed_rhs(seed, dtype):
    rng = np.random.default_rng(seed)
    a, bT = sample(rng, (256, 256), dtype), sample(rng, (384, 256), dtype)
    out = mm.matmul_transposed_rhs(a, bT)
    assert_matches(out, f64(a) @ f64(bT).T)
