"""Conformance: the broadcasting forms documented for nl.add / nl.multiply (partition and free axes)."""

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

bc = kernels("broadcast")


@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_nl_calls_broadcast_rows_columns_and_scalars(seed, dtype):
    rng = np.random.default_rng(seed)
    a, row = sample(rng, (128, 512), dtype), sample(rng, (1, 512), dtype)
    col, one = sample(rng, (128, 1), dtype, zeros=0.0), sample(rng, (1, 1), dtype)
    plus_row, outer, minus_one, over_col = bc.broadcast_forms(a, row, col, one)
    assert_matches(plus_row, f64(a) + f64(row))
    assert_matches(outer, f64(col) * f64(row))
    assert_matches(minus_one, f64(a) - f64(one))
    assert_matches(over_col, f64(a) / f64(col))
