"""Legacy kernels that compiled and ran on hardware are accepted: PSUM operands of the high-level calls and of
affine_select, and ``is`` / ``is not`` in a kernel."""

import warnings

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiWarning
from tests.fakes.extra_ops_support import run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P = 128


def operands(seed=0, n=P):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((P, n)).astype(np.float32), rng.standard_normal((P, n)).astype(np.float32)


def k_causal_select_from_psum(x, y):
    """nki-samples' flash_attn_bwd masks the PSUM matmul result with affine_select directly."""
    out = nl.ndarray((P, P), nl.float32, buffer=nl.shared_hbm)
    scores = nl.ndarray((P, P), nl.float32, buffer=nl.psum)
    scores[...] = nisa.nc_matmul(nl.load(x), nl.load(y))
    i_p, i_f = nl.mgrid[0:P, 0:P]
    masked = nisa.affine_select(pred=(i_p - i_f >= 0), on_true_tile=scores, on_false_value=-9984.0,
                                dtype=nl.float32)
    nl.store(out, masked)
    return out


def test_affine_select_takes_its_on_true_tile_from_psum():
    x, y = operands(0)
    out, trace = run(k_causal_select_from_psum, x, y)
    expect = np.where(np.tril(np.ones((P, P), bool)), x.T @ y, -9984.0)
    np.testing.assert_allclose(out, expect, rtol=1e-4, atol=1e-4)
    select = next(i for i in trace.instructions if i.opcode == "AFFINE_SELECT")
    assert select.src[0].buffer == "psum"


def k_matmul_of_transposes(x, y):
    out = nl.ndarray((3, P, P), nl.float32, buffer=nl.shared_hbm)
    xt, yt = nl.transpose(nl.load(x)), nl.transpose(nl.load(y))  # Tensor-engine transposes: PSUM tiles
    nl.store(out[0], nl.copy(nl.matmul(xt, nl.load(y), transpose_x=True)))  # xt.T @ y = x @ y
    nl.store(out[1], nl.copy(nl.matmul(xt, nl.load(y))))  # x.T @ y
    nl.store(out[2], nl.copy(nl.matmul(nl.load(x), yt)))  # x @ y.T
    return out


def k_transpose_back(x):
    out = nl.ndarray((P, P), nl.float32, buffer=nl.shared_hbm)
    nl.store(out, nl.transpose(nl.transpose(nl.load(x))))
    return out


def test_nl_matmul_stages_psum_operands_through_sbuf_and_warns():
    x, y = operands(1)
    with pytest.warns(NkiWarning, match="warn_psum_matmul_operand"):
        out, trace = run(k_matmul_of_transposes, x, y)
    np.testing.assert_allclose(out[0], x @ y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[1], x.T @ y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[2], x @ y.T, rtol=1e-4, atol=1e-4)
    staged = [i for i in trace.instructions if i.opcode == "TENSOR_COPY" and i.src[0].buffer == "psum"
              and i.dst[0].buffer == "sbuf" and i.api == "nl.matmul"]
    assert len(staged) >= 3  # one per PSUM operand (plus nl.matmul's own transpose copies)


def k_nc_matmul_of_a_transpose(x, y):
    """nki-samples' flash_attn_bwd: nisa.nc_matmul(nisa.nc_transpose(dy), softmax), the transpose in PSUM."""
    out = nl.ndarray((P, P), nl.float32, buffer=nl.shared_hbm)
    nl.store(out, nl.copy(nisa.nc_matmul(nisa.nc_transpose(nl.load(x)), nl.load(y))))  # (x.T).T @ y
    return out


def test_nisa_nc_matmul_stages_a_psum_operand_through_sbuf_and_warns():
    x, y = operands(4)
    with pytest.warns(NkiWarning, match="warn_psum_matmul_operand"):
        out, _ = run(k_nc_matmul_of_a_transpose, x, y)
    np.testing.assert_allclose(out, x @ y, rtol=1e-4, atol=1e-4)


def test_nl_transpose_of_a_psum_tile_over_32x32():
    x, _ = operands(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NkiWarning)  # no warning: nl.transpose's docs name no memory
        out, _ = run(k_transpose_back, x)
    np.testing.assert_array_equal(out, x)


def k_optional_scale(x, scale=None):
    out = nl.ndarray(x.shape, nl.float32, buffer=nl.shared_hbm)
    t = nl.load(x)
    if scale is not None:
        t = nl.multiply(t, scale)
    if scale is None:
        t = nl.negative(t)
    nl.store(out, t)
    return out


def test_is_and_is_not_in_a_legacy_kernel():
    x, _ = operands(3, 8)
    out, _ = run(k_optional_scale, x)
    np.testing.assert_array_equal(out, -x)
    out, _ = run(k_optional_scale, x, 2.0)
    np.testing.assert_array_equal(out, 2 * x)
