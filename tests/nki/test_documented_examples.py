"""Behaviour the NKI docs define, checked on small kernels: the max8-family tie-breaks and sentinels, DMA
out-of-bounds skipping, nl.mgrid as an index and dense under nisa.iota (nisa.dropout's dtype rule:
current/test_v2_documented.py)."""

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiError, NkiWarning
from tests.fakes.extra_ops_support import run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P = 128


# ---------------------------------------------------------------- nc_find_index8 / nc_match_replace8


def k_find_index8(data, vals):
    out = nl.ndarray((data.shape[0], 8), nl.uint32, buffer=nl.shared_hbm)
    out16 = nl.ndarray((data.shape[0], 8), nl.uint16, buffer=nl.shared_hbm)
    d, v = nl.load(data), nl.load(vals)
    nl.store(out, nisa.nc_find_index8(data=d, vals=v))
    nl.store(out16, nisa.nc_find_index8(data=d, vals=v, dtype=nl.uint16))
    return out, out16


def test_find_index8_writes_all_ones_for_a_missing_value_and_pairs_duplicates_in_order():
    data = np.array([[1, 2, 3, 4, 8, 8, 8, 8, 8, 8, 8]], np.float32)
    vals = np.array([[3, 8, 8, 99, 8, 1, 2, 4]], np.float32)
    with pytest.warns(NkiWarning, match="warn_undefined_result"):  # the legacy docs call a missing value undefined
        (idx, idx16), _ = run(k_find_index8, data, vals)
    # Repeated 8s take successive occurrences, in ascending column order; 99 is not in data.
    assert idx[0].tolist() == [2, 4, 5, 0xFFFFFFFF, 6, 0, 1, 3]
    assert idx16[0].tolist() == [2, 4, 5, 0xFFFF, 6, 0, 1, 3]


def k_match_replace8(data, vals):
    out = nl.ndarray(data.shape, nl.float32, buffer=nl.shared_hbm)
    idx = nl.ndarray((data.shape[0], 8), nl.uint32, buffer=nl.shared_hbm)
    found = nl.ndarray((data.shape[0], 8), nl.uint32, buffer=nl.sbuf)
    nl.store(out, nisa.nc_match_replace8(data=nl.load(data), vals=nl.load(vals), imm=-1.0, dst_idx=found))
    nl.store(idx, found)
    return out, idx


def test_match_replace8_pairs_repeated_values_from_the_last_column_down():
    """The docs' example: data [1,2,3,4,8x7], vals [3, 8x7] gives dst_idx [2, 10, 9, 8, 7, 6, 5, 4]."""
    data = np.array([[1, 2, 3, 4, 8, 8, 8, 8, 8, 8, 8]], np.float32)
    vals = np.array([[3, 8, 8, 8, 8, 8, 8, 8]], np.float32)
    (out, idx), _ = run(k_match_replace8, data, vals)
    assert idx[0].tolist() == [2, 10, 9, 8, 7, 6, 5, 4]
    assert out[0].tolist() == [1, 2, -1, 4, -1, -1, -1, -1, -1, -1, -1]


# ---------------------------------------------------------------- oob_mode of legacy indirect DMAs


def k_gather_rows(x, oob):
    """Rows 0, 3, 6, ... of x: past the end of x, oob_mode decides."""
    out = nl.ndarray((64, x.shape[1]), x.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.mgrid[0:64, 0:x.shape[1]]
    rows = nisa.iota(3 * nl.arange(64)[:, None], dtype=np.int32)
    got = nisa.memset(shape=(64, x.shape[1]), value=-1, dtype=x.dtype)
    nisa.dma_copy(src=x[rows, i_f], dst=got[i_p, i_f], oob_mode=oob)
    nl.store(out, got)
    return out


def k_scatter_rows(x, oob):
    out = nl.ndarray((x.shape[0], x.shape[1]), x.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.mgrid[0:64, 0:x.shape[1]]
    nl.store(out, nisa.memset(shape=x.shape, value=-1, dtype=x.dtype))
    rows = nisa.iota(3 * nl.arange(64)[:, None], dtype=np.int32)
    nisa.dma_copy(dst=out[rows, i_f], src=nl.load(x[i_p, i_f]), oob_mode=oob)
    return out


def k_load_mode_skip(x):
    out = nl.ndarray((64, x.shape[1]), x.dtype, buffer=nl.shared_hbm)
    i_f = nl.arange(x.shape[1])[None, :]
    rows = nisa.iota(3 * nl.arange(64)[:, None], dtype=np.int32)
    t = nl.load(x[rows, i_f], mode=nisa.oob_mode.skip)
    nl.store(out[0:43, :], t[0:43, :])  # the skipped rows hold whatever the tile held before
    return out


def test_legacy_dma_copy_skips_out_of_bounds_rows_of_an_indirect_load():
    x = np.arange(128 * 16, dtype=np.float32).reshape(128, 16)
    out, _ = run(k_gather_rows, x, nisa.oob_mode.skip)
    np.testing.assert_array_equal(out[:43], x[0:128:3])  # rows 0, 3, ..., 126
    assert (out[43:] == -1).all()  # rows 129, 132, ... are outside x: skipped


def test_legacy_dma_copy_skips_out_of_bounds_rows_of_an_indirect_store():
    x = np.arange(128 * 16, dtype=np.float32).reshape(128, 16)
    out, _ = run(k_scatter_rows, x, nisa.oob_mode.skip)
    np.testing.assert_array_equal(out[0:128:3], x[:43])
    kept = np.setdiff1d(np.arange(128), np.arange(0, 128, 3))
    assert (out[kept] == -1).all()


def test_legacy_indirect_dma_out_of_bounds_is_still_an_error_by_default():
    x = np.zeros((128, 16), np.float32)
    for kernel in (k_gather_rows, k_scatter_rows):
        with pytest.raises(NkiError, match="indirect index value 129 is out of bounds for dimension 0") as err:
            autocomp.nki.run_kernel(kernel, (x, nisa.oob_mode.error))
        assert err.value.code == "err_runtime_out_of_bounds"


def test_nl_load_takes_mode_skip_as_deployed_kernels_pass_it():
    x = np.arange(128 * 16, dtype=np.float32).reshape(128, 16)
    out, _ = run(k_load_mode_skip, x)
    np.testing.assert_array_equal(out[:43], x[0:128:3])


# ---------------------------------------------------------------- nl.mgrid as an index


def k_mgrid_index(x):
    out = nl.ndarray(x.shape, x.dtype, buffer=nl.shared_hbm)
    grid = nl.mgrid[0:x.shape[0], 0:x.shape[1]]
    t = nl.load(x[grid])
    nl.store(out[nl.mgrid[0:x.shape[0], 0:x.shape[1]]], nl.multiply(t, 2.0))
    return out


def test_an_mgrid_indexes_every_dimension_at_once():
    x = np.random.default_rng(0).standard_normal((128, 64)).astype(np.float32)
    out, _ = run(k_mgrid_index, x)
    np.testing.assert_array_equal(out, 2 * x)


def k_iota_of_mgrid_components(x):
    """A select_and_scatter idiom: iota of an expression of some mgrid components fills the whole grid."""
    out = nl.ndarray((P, 4, 3, 3), nl.float32, buffer=nl.shared_hbm)
    window = nl.mgrid[0:P, 0:4, 0:3, 0:3]
    linear = nisa.iota(3 * window.y + window.z, dtype=nl.uint32)
    assert linear.shape == (P, 4, 3, 3)
    nl.store(out, nl.copy(linear, dtype=nl.float32))
    return out


def test_iota_of_an_mgrid_component_is_dense_over_the_grid():
    out, _ = run(k_iota_of_mgrid_components, np.zeros((1, 1), np.float32))
    np.testing.assert_array_equal(out, np.broadcast_to(np.arange(9, dtype=np.float32).reshape(3, 3), (P, 4, 3, 3)))
