"""Conformance: a directly allocated kernel (ncc.sbuf.mod_alloc) computes the same values and records
the addresses it chose for the cost model."""

import math

import numpy as np
import pytest

from tests.fakes.conformance import SEEDS, assert_matches, bf16, f64, kernels, sample

alloc = kernels("allocation")


@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_direct_allocation_residual_gelu(seed, dtype):
    rng = np.random.default_rng(seed)
    x, skip = sample(rng, (512, 512), dtype), sample(rng, (512, 512), dtype)
    out = alloc.residual_gelu(x, skip)
    erf = np.vectorize(math.erf)
    assert_matches(out, 0.5 * f64(x) * (1.0 + erf(f64(x) / math.sqrt(2.0))) + f64(skip))
    tensors = alloc.residual_gelu.last_result.trace.tensors.values()
    assert sorted(t.address[1] for t in tensors if t.address is not None) == [0, 64, 64 + 4096, 64 + 8192]
