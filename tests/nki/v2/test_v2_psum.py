"""Per-element PSUM accumulation of ``nc_matmul(accumulate=None/True/False)`` in the current dialect."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError, NkiWarning
from tests.fakes.v2_support import SEEDS, assert_close, f64, sample, target


def _load(src):
    t = nl.ndarray(src.shape, dtype=src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


def _store(ps):
    out = nl.ndarray(ps.shape, dtype=nl.float32, buffer=nl.shared_hbm)
    sb = nl.ndarray(ps.shape, dtype=nl.float32)
    nisa.tensor_copy(dst=sb, src=ps)
    nisa.dma_copy(dst=out, src=sb)
    return out


@nki.jit
def transposed_conv1d(x, w):
    """out[:, t] = sum_k w[k].T @ x[:, t - k]: each tap's matmul writes a shifted, overlapping PSUM region."""
    Ci, L = x.shape
    K, _, Co = w.shape
    x_sb = _load(x)
    ps = nl.ndarray((Co, L + K - 1), dtype=nl.float32, buffer=nl.psum)
    for k in range(K):
        w_k = nl.ndarray((Ci, Co), dtype=w.dtype)
        nisa.dma_copy(dst=w_k, src=w[k])
        nisa.nc_matmul(dst=ps[:, k:k + L], stationary=w_k, moving=x_sb)
    return _store(ps)


@nki.jit
def restart_group(a, b):
    """accumulate=False restarts the group: only the last two products remain."""
    a_sb, b_sb = _load(a), _load(b)
    ps = nl.ndarray((a.shape[1], b.shape[1]), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul(ps, a_sb, b_sb)
    nisa.nc_matmul(ps, a_sb, b_sb)
    nisa.nc_matmul(ps, a_sb, b_sb, accumulate=False)
    nisa.nc_matmul(ps, a_sb, b_sb, accumulate=True)
    return _store(ps)


@nki.jit
def explicit_accumulate(a, b):
    """accumulate=True onto a memset-initialised PSUM tile."""
    a_sb, b_sb = _load(a), _load(b)
    ps = nl.zeros((a.shape[1], b.shape[1]), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul(ps, a_sb, b_sb, accumulate=True)
    return _store(ps)


@nki.jit
def accumulate_uninitialised(a, b):
    a_sb, b_sb = _load(a), _load(b)
    ps = nl.ndarray((a.shape[1], b.shape[1]), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul(ps[:, 0:16], a_sb, b_sb[:, 0:16])
    nisa.nc_matmul(ps, a_sb, b_sb, accumulate=True)
    return _store(ps)


@pytest.mark.parametrize("seed", SEEDS)
def test_overlapping_conv_pattern_accumulates_per_element(seed):
    rng = np.random.default_rng(seed)
    x, w = sample(rng, (64, 100)), sample(rng, (3, 64, 32))
    ref = np.zeros((32, 102))
    for k in range(3):
        ref[:, k:k + 100] += f64(w[k]).T @ f64(x)
    assert_close(transposed_conv1d(x, w), ref)
    mms = [i for i in transposed_conv1d.last_result.trace.instructions if i.opcode == "MATMUL"]
    assert [i.attrs["accumulate"] for i in mms] == [False, True, True]


@pytest.mark.parametrize("seed", SEEDS)
def test_accumulate_false_restarts_the_group(seed):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (32, 16)), sample(rng, (32, 24))
    assert_close(restart_group(a, b), 2 * f64(a).T @ f64(b))


def test_accumulate_true_onto_memset_warns_on_trn1_trn2_only():
    rng = np.random.default_rng(0)
    a, b = sample(rng, (32, 16)), sample(rng, (32, 24))
    for name in ("trn1", "trn2"):
        with target(name), pytest.warns(NkiWarning, match="warn_accumulate_onto_memset"):
            out = explicit_accumulate(a, b)
        assert_close(out, f64(a).T @ f64(b))
    with target("trn3"):
        explicit_accumulate(a, b)
    assert not [w for w in explicit_accumulate.last_result.trace.warnings if "onto_memset" in w]


def test_accumulate_true_on_uninitialised_elements_warns():
    rng = np.random.default_rng(0)
    a, b = sample(rng, (32, 16)), sample(rng, (32, 24))
    with pytest.warns(NkiWarning, match="warn_uninitialized_accumulate"):
        accumulate_uninitialised(a, b)


@nki.jit
def transpose_bf16_into_fp32_psum(x):
    x_sb = _load(x)
    ps = nl.ndarray((x.shape[1], x.shape[0]), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_transpose(dst=ps, data=x_sb)
    return _store(ps)


def test_tensor_engine_transpose_of_bf16_into_fp32_psum_on_trn1():
    """NeuronCore-v2 has no transpose mode: a PE transpose is a matmul, whose PSUM result is fp32. The docs ask for
    dst in data's dtype, so trn1 accepts it with a warning; trn2 keeps the rule."""
    x = sample(np.random.default_rng(0), (128, 96)).astype(nl.bfloat16)
    with target("trn1"), pytest.warns(NkiWarning, match="warn_transpose_dtype"):
        out = transpose_bf16_into_fp32_psum(x)
    np.testing.assert_array_equal(out, f64(x).T)
    with target("trn2"), pytest.raises(NkiError, match="err_unsupported_dtype"):
        transpose_bf16_into_fp32_psum(x)
