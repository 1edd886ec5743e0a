"""Deferred PSUM accumulation: a K loop of nc_matmul, computed when PSUM is read, equals the eager product.

The flush merges K tiles that sit back to back in one HBM input into a single strided operand; these
kernels also feed it tiles that are reversed, repeated or column-strided, which must not be merged as if
they were adjacent.
"""

import ml_dtypes
import numpy as np
import pytest

import autocomp.nki

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

K_TILES = 4
ORDERS = {
    "forward": lambda k: k,
    "reverse": lambda k: K_TILES - 1 - k,
    "repeat_first": lambda k: 0,
}


def _k_loop_kernel(order):
    @nki.jit
    def kernel(lhsT, rhs):
        result = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
        acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
        for k in nl.affine_range(K_TILES):
            i = order(k)
            lt = nl.load(lhsT[i * 128:(i + 1) * 128, 128:256])
            rt = nl.load(rhs[i * 128:(i + 1) * 128, 512:1024])
            acc += nisa.nc_matmul(lt, rt)
        nl.store(result, value=nl.copy(acc))
        return result
    return kernel


@nki.jit
def two_phase(lhsT, rhs):
    """PSUM is read after half the K loop, so the second half accumulates onto concrete values."""
    first = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    result = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
    for k in nl.affine_range(K_TILES):
        acc += nisa.nc_matmul(nl.load(lhsT[k * 128:(k + 1) * 128, 0:128]), nl.load(rhs[k * 128:(k + 1) * 128, :]))
        if k == K_TILES // 2 - 1:
            nl.store(first, value=nl.copy(acc))
    nl.store(result, value=nl.copy(acc))
    return first, result


@nki.jit
def strided_columns(lhsT, rhs):
    """Every other column of the inputs: tiles are not contiguous but still adjacent along K."""
    result = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
    for k in nl.affine_range(K_TILES):
        lt = nl.load(lhsT[k * 128:(k + 1) * 128, 0:256:2])
        rt = nl.load(rhs[k * 128:(k + 1) * 128, 1:1024:2])
        acc += nisa.nc_matmul(lt, rt)
    nl.store(result, value=nl.copy(acc))
    return result


def _inputs(dtype, seed=0, m=512, n=2048):
    # Wide enough that the flush reads K tiles through the inputs' cached fp32 copies.
    rng = np.random.default_rng(seed)
    lhsT = rng.standard_normal((K_TILES * 128, m), dtype=np.float32).astype(dtype)
    rhs = rng.standard_normal((K_TILES * 128, n), dtype=np.float32).astype(dtype)
    return lhsT, rhs


def _product(lhsT, rhs, rows):
    """float64 reference of sum over the given K tiles of lhsT[tile].T @ rhs[tile]."""
    a, b = lhsT.astype(np.float64), rhs.astype(np.float64)
    return sum(a[i * 128:(i + 1) * 128].T @ b[i * 128:(i + 1) * 128] for i in rows)


def _assert_fp32_close(out, ref):
    # fp32 accumulation over K_TILES * 128 products of unit normals: errors stay far below 1e-3.
    np.testing.assert_allclose(np.asarray(out, dtype=np.float64), ref, rtol=0, atol=1e-3)


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float32], ids=["bf16", "fp32"])
@pytest.mark.parametrize("order", list(ORDERS))
def test_k_loop_matches_product_of_the_tiles_it_loaded(order, dtype):
    lhsT, rhs = _inputs(dtype)
    out = _k_loop_kernel(ORDERS[order])(lhsT, rhs)
    rows = [ORDERS[order](k) for k in range(K_TILES)]
    _assert_fp32_close(out, _product(lhsT[:, 128:256], rhs[:, 512:1024], rows))


def test_forward_k_loop_equals_reversed_up_to_summation_order():
    lhsT, rhs = _inputs(ml_dtypes.bfloat16, seed=1)
    forward = _k_loop_kernel(ORDERS["forward"])(lhsT, rhs)
    reverse = _k_loop_kernel(ORDERS["reverse"])(lhsT, rhs)
    np.testing.assert_allclose(forward, reverse, rtol=1e-5, atol=1e-4)


def test_bf16_products_are_exact_in_fp32():
    # Small integers in bf16 multiply and sum exactly, so the deferred result must match bit for bit.
    rng = np.random.default_rng(2)
    lhsT = rng.integers(-8, 9, (K_TILES * 128, 512)).astype(ml_dtypes.bfloat16)
    rhs = rng.integers(-8, 9, (K_TILES * 128, 2048)).astype(ml_dtypes.bfloat16)
    out = _k_loop_kernel(ORDERS["forward"])(lhsT, rhs)
    ref = _product(lhsT[:, 128:256], rhs[:, 512:1024], range(K_TILES))
    assert np.array_equal(np.asarray(out, dtype=np.float64), ref)


def test_accumulating_onto_values_read_mid_loop():
    lhsT, rhs = _inputs(ml_dtypes.bfloat16, seed=3, n=512)
    first, result = two_phase(lhsT, rhs)
    _assert_fp32_close(first, _product(lhsT[:, 0:128], rhs, range(K_TILES // 2)))
    _assert_fp32_close(result, _product(lhsT[:, 0:128], rhs, range(K_TILES)))


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float32], ids=["bf16", "fp32"])
def test_column_strided_tiles(dtype):
    lhsT, rhs = _inputs(dtype, seed=4)
    out = strided_columns(lhsT, rhs)
    _assert_fp32_close(out, _product(lhsT[:, 0:256:2], rhs[:, 1:1024:2], range(K_TILES)))


def _indexed_group(index):
    """The K loop writing ``acc`` through an index that covers the whole tile (``acc[...]``, aranges)."""
    @nki.jit
    def kernel(lhsT, rhs):
        result = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
        acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
        i_p, i_f = nl.arange(128)[:, None], nl.arange(512)[None, :]
        for k in nl.affine_range(K_TILES):
            mm = nisa.nc_matmul(nl.load(lhsT[k * 128:(k + 1) * 128, 0:128]), nl.load(rhs[k * 128:(k + 1) * 128, 0:512]))
            if index == "whole":
                acc += mm
            elif index == "ellipsis":
                acc[...] += mm
            else:
                acc[i_p, i_f] += mm
        nl.store(result, value=nl.copy(acc))
        return result
    return kernel


@pytest.mark.parametrize("index", ["ellipsis", "aranges"])
def test_an_index_covering_the_whole_tile_accumulates_as_one_group(index):
    # The same instructions must give the same bits however the accumulator is indexed (a migration from
    # `acc[i_p, i_f] += ...` to a v2 dst=acc[0:P, 0:F] relies on it); bf16 over 4 K tiles shows any regrouping.
    lhsT, rhs = _inputs(ml_dtypes.bfloat16)
    want = nki.simulate_kernel(_indexed_group("whole"), lhsT, rhs)
    got = nki.simulate_kernel(_indexed_group(index), lhsT, rhs)
    assert got.tobytes() == want.tobytes()
