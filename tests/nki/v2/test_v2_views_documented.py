"""NkiTensor view methods as documented: reshape(shape) and permute(dims) take one tuple, slice needs its end,
rearrange (einops patterns), vector_select (a per-partition gather of HBM rows) and indirect (tensor
indirection on NeuronCore-v4), against numpy."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import target


def _out(t):
    o = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o


@nki.jit
def rearranged(x):
    t = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.dma_copy(dst=t, src=x)
    r = nl.ndarray((x.shape[0], 6, 4), dtype=x.dtype)
    nisa.tensor_copy(dst=r, src=t.rearrange(("b", ("h", "w")), ("b", "w", "h"), {"h": 4}))
    s = nl.ndarray((x.shape[0], 6, 4), dtype=x.dtype)
    nisa.tensor_copy(dst=s, src=t.reshape((x.shape[0], 2, 2, 6)).flatten_dims(1, 2).permute((0, 2, 1)))
    return _out(r), _out(s)


def test_rearrange_splits_reorders_and_merges():
    x = np.arange(8 * 24, dtype=np.float32).reshape(8, 24)
    r, s = rearranged(x)
    np.testing.assert_array_equal(r, x.reshape(8, 4, 6).transpose(0, 2, 1))
    np.testing.assert_array_equal(s, x.reshape(8, 4, 6).transpose(0, 2, 1))


@nki.jit
def varargs_reshape(x):
    t = nl.ndarray(x.shape, dtype=x.dtype)
    t.reshape(x.shape[0], 2, x.shape[1] // 2)
    return _out(t)


def test_reshape_takes_the_shape_as_one_tuple():
    with pytest.raises(TypeError):
        varargs_reshape(np.ones((8, 4), np.float32))


@nki.jit
def rows_by_offset(table, offsets):
    idx = nl.ndarray(offsets.shape, dtype=offsets.dtype)
    nisa.dma_copy(dst=idx, src=offsets)
    rows = nl.ndarray((offsets.shape[0], table.shape[1], table.shape[2]), dtype=table.dtype)
    nisa.dma_copy(dst=rows, src=table.vector_select(0, idx))
    return _out(rows)


def test_vector_select_gathers_one_hbm_row_per_partition():
    rng = np.random.default_rng(0)
    table = rng.random((16, 4, 8), dtype=np.float32)
    offsets = rng.integers(0, 16, (32, 1)).astype(np.int32)
    rows = rows_by_offset(table, offsets)
    np.testing.assert_array_equal(rows, table[offsets[:, 0]])


@nki.jit
def columns_by_index(x, index):
    t = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.dma_copy(dst=t, src=x)
    i = nl.ndarray(index.shape, dtype=index.dtype)
    nisa.dma_copy(dst=i, src=index)
    picked = nl.ndarray((x.shape[0], 20), dtype=x.dtype)
    nisa.tensor_copy(dst=picked, src=t.indirect(i, num_elem=20))
    return _out(picked)


def test_indirect_reads_columns_at_snake_ordered_offsets():
    rng = np.random.default_rng(1)
    x = rng.random((32, 40), dtype=np.float32)
    index = rng.integers(0, 40, (32, 2)).astype(np.int32)
    with target("trn3"):
        picked = columns_by_index(x, index)
    offs = index[np.arange(20) % 16, np.arange(20) // 16]
    np.testing.assert_array_equal(picked, x[:, offs])
    with target("trn2"), pytest.raises(NkiError) as err:
        columns_by_index(x, index)
    assert err.value.code == "err_unsupported_operation"
