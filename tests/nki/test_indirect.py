"""Indirect (gather/scatter) DMA indexing and HBM reshape in the legacy dialect."""

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import run_kernel
from autocomp.nki.errors import NkiError

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402


def gather_rows(table, ids):
    out = nl.ndarray((ids.shape[0], table.shape[1]), dtype=table.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(ids.shape[0])[:, None]
    i_f = nl.arange(table.shape[1])[None, :]
    idx = nl.load(ids[i_p])
    rows = nl.load(table[idx[i_p, 0], i_f])
    nl.store(out, value=rows)
    return out


def scatter_rows(table, ids, values):
    out = nl.ndarray(table.shape, dtype=table.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(table.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.load(table[i * 128:(i + 1) * 128, :]))
    i_p = nl.arange(ids.shape[0])[:, None]
    i_f = nl.arange(table.shape[1])[None, :]
    idx = nl.load(ids[i_p])
    nl.store(out[idx, i_f], value=nl.load(values))
    return out


def gather_by_iota(table):
    out = nl.ndarray((64, table.shape[1]), dtype=table.dtype, buffer=nl.shared_hbm)
    i_f = nl.arange(table.shape[1])[None, :]
    idx = nisa.iota(2 * nl.arange(64)[:, None], dtype=nl.int32)
    nl.store(out, value=nl.load(table[idx, i_f]))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_gather_rows_by_index_tile(seed):
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((300, 96)).astype(np.float32)
    ids = rng.integers(0, 300, size=(100,)).astype(np.int32)
    result = run_kernel(gather_rows, (table, ids))
    np.testing.assert_array_equal(result.outputs, table[ids])
    dma = [i for i in result.trace.instructions if i.opcode == "DMA"][-2]
    assert dma.src[0].indirect and len(dma.src) == 2  # data and the index tile it waits for


def test_scatter_rows_and_iota_indices():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((256, 32)).astype(np.float32)
    ids = rng.permutation(256)[:128].astype(np.int32)
    values = rng.standard_normal((128, 32)).astype(np.float32)
    expected = table.copy()
    expected[ids] = values
    np.testing.assert_array_equal(run_kernel(scatter_rows, (table, ids, values)).outputs, expected)
    np.testing.assert_array_equal(run_kernel(gather_by_iota, (table,)).outputs, table[0:128:2])


def test_indirect_errors():
    table = np.zeros((16, 8), np.float32)
    with pytest.raises(NkiError) as err:
        run_kernel(gather_rows, (table, np.array([0, 99], np.int32)))
    assert err.value.code == "err_runtime_out_of_bounds"

    def free_dim(table, ids):
        out = nl.ndarray((8, 8), dtype=table.dtype, buffer=nl.shared_hbm)
        i_p = nl.arange(8)[:, None]
        idx = nl.load(ids[i_p])
        nl.store(out, value=nl.load(table[i_p, idx]))
        return out

    with pytest.raises(NkiError) as err:
        run_kernel(free_dim, (table, np.arange(8, dtype=np.int32)))
    assert err.value.code == "err_indirect_indices_free_dim"


def test_hbm_reshape_views_same_memory():
    def scale_rows(x, gamma):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        g = nl.load(gamma.reshape((1, gamma.shape[0])))
        nl.store(out, value=nl.multiply(nl.load(x), g))
        return out

    rng = np.random.default_rng(3)
    x = rng.standard_normal((128, 64)).astype(np.float32)
    gamma = rng.standard_normal((64,)).astype(np.float32)
    np.testing.assert_allclose(run_kernel(scale_rows, (x, gamma)).outputs, x * gamma, rtol=1e-6)
    with pytest.raises(NkiError) as err:
        run_kernel(lambda x, gamma: gamma.reshape((3, 5)), (x, gamma))
    assert err.value.code == "err_reshape_element_count"


def test_hbm_reshape_takes_the_shape_by_keyword():
    # nki-samples' vision kernels write data_tensor.reshape(shape=(...)).
    def flat_copy(x):
        out = nl.ndarray((x.shape[0], x.shape[1] * x.shape[2]), dtype=x.dtype, buffer=nl.shared_hbm)
        nl.store(out, value=nl.load(x.reshape(shape=(x.shape[0], x.shape[1] * x.shape[2]))))
        return out

    x = np.arange(128 * 4 * 8, dtype=np.float32).reshape(128, 4, 8)
    np.testing.assert_array_equal(run_kernel(flat_copy, (x,)).outputs, x.reshape(128, 32))
    with pytest.raises(TypeError, match="multiple values"):
        run_kernel(lambda x: x.reshape((128, 32), shape=(128, 32)), (x,))


def test_integer_index_keeps_tiles_two_dimensional():
    def column_scale(a, s):
        out = nl.ndarray((128, a.shape[1]), dtype=a.dtype, buffer=nl.shared_hbm)
        col = nl.load(s[0:128, 2])  # one column: a [128, 1] tile
        row = nl.ndarray((1, a.shape[1]), dtype=a.dtype, buffer=nl.sbuf)
        row[0, 0:a.shape[1]] = nl.load(a[5:6, :])  # a [1, F] tile addressed as row[0, ...]
        scaled = nisa.activation(op=nl.copy, data=nl.load(a[0:128, :]), scale=col)
        nl.store(out, value=nl.add(scaled, row[0, 0:a.shape[1]]))
        return out

    rng = np.random.default_rng(4)
    a = rng.standard_normal((128, 64)).astype(np.float32)
    s = rng.standard_normal((128, 4)).astype(np.float32)
    out = run_kernel(column_scale, (a, s)).outputs
    np.testing.assert_allclose(out, a * s[:, 2:3] + a[5:6, :], rtol=1e-5, atol=1e-6)
