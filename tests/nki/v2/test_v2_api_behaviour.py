"""nki (the current dialect) functions that only the signature check covered, run against numpy: the element-wise
math, comparison and bitwise calls, reductions, creation calls, ds / transpose / matmul / where / rms_norm,
random numbers, no_reorder, grid queries and loops, the Vector-engine search and shuffle instructions
(max8, nc_find_index8, nc_match_replace8, nc_stream_shuffle, range_select, local_gather, sequence_bounds),
the PRNG (rng, set_rng_seed) and the tensor methods is_indirect and reshape_dim. References follow each
call's API reference description; ``tests/fakes/api_coverage.py`` maps every documented function to the test
that exercises it."""

import math

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import assert_close, target

P, F = 128, 64
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def _load(src, dtype=None):
    t = nl.ndarray(src.shape, dtype=dtype or src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


def _out(t):
    o = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o


def _uniform(seed, lo, hi, dtype=np.float32, shape=(P, F)):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(lo, hi, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


# (language function, numpy reference, input range): each reference is the API reference's description.
UNARY = [
    (nl.abs, np.abs, (-3, 3)),
    (nl.arctan, np.arctan, (-1.5, 1.5)),
    (nl.ceil, np.ceil, (-3, 3)),
    (nl.cos, np.cos, (-3, 3)),
    (nl.erf, _erf, (-3, 3)),
    (nl.erf_dx, lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x), (-3, 3)),
    (nl.floor, np.floor, (-3, 3)),
    (nl.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), (-3, 3)),
    (nl.gelu_apprx_tanh, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), (-3, 3)),
    (nl.gelu_dx, lambda x: 0.5 * (1 + _erf(x / np.sqrt(2))) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi), (-3, 3)),
    (nl.log, np.log, (0.1, 5)),
    (nl.mish, lambda x: x * np.tanh(_softplus(x)), (-3, 3)),
    (nl.negative, np.negative, (-3, 3)),
    (nl.reciprocal, np.reciprocal, (0.5, 4)),
    (nl.relu, lambda x: np.maximum(x, 0), (-3, 3)),
    (nl.rsqrt, lambda x: 1 / np.sqrt(x), (0.1, 5)),
    (nl.sigmoid, _sigmoid, (-5, 5)),
    (nl.sign, np.sign, (-3, 3)),
    (nl.silu, lambda x: x * _sigmoid(x), (-5, 5)),
    (nl.silu_dx, lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), (-5, 5)),
    (nl.sin, np.sin, (-3, 3)),
    (nl.softplus, _softplus, (-5, 5)),
    (nl.sqrt, np.sqrt, (0.1, 5)),
    (nl.square, np.square, (-3, 3)),
    (nl.tan, np.tan, (-1.2, 1.2)),
    (nl.tanh, np.tanh, (-3, 3)),
    (nl.trunc, np.trunc, (-3, 3)),
]

# (function, numpy reference, operand dtype, operand range)
BINARY = [
    (nl.subtract, np.subtract, np.float32, (-3, 3)),
    (nl.multiply, np.multiply, np.float32, (-3, 3)),
    (nl.maximum, np.maximum, np.float32, (-3, 3)),
    (nl.minimum, np.minimum, np.float32, (-3, 3)),
    (nl.power, np.power, np.float32, (0.5, 2)),
    (nl.equal, np.equal, np.int32, (0, 3)),
    (nl.not_equal, np.not_equal, np.int32, (0, 3)),
    (nl.greater, np.greater, np.int32, (0, 3)),
    (nl.greater_equal, np.greater_equal, np.int32, (0, 3)),
    (nl.less, np.less, np.int32, (0, 3)),
    (nl.less_equal, np.less_equal, np.int32, (0, 3)),
    (nl.logical_and, np.logical_and, np.int32, (0, 2)),
    (nl.logical_or, np.logical_or, np.int32, (0, 2)),
    (nl.logical_xor, np.logical_xor, np.int32, (0, 2)),
    (nl.bitwise_and, np.bitwise_and, np.int32, (0, 256)),
    (nl.bitwise_or, np.bitwise_or, np.int32, (0, 256)),
    (nl.bitwise_xor, np.bitwise_xor, np.int32, (0, 256)),
    (nl.left_shift, np.left_shift, np.int32, (0, 8)),
    (nl.right_shift, np.right_shift, np.int32, (0, 8)),
]

# (reduction, numpy reference): along the free axis, keeping it as size 1.
REDUCTIONS = [
    (nl.mean, np.mean),
    (nl.min, np.min),
    (nl.prod, np.prod),
    (nl.sum, np.sum),
    (nl.var, np.var),
]


def _name(entry):
    return entry[0].__name__


def _unary_kernel(fn):
    @nki.jit
    def kernel(x):
        return _out(fn(_load(x), dtype=nl.float32))
    return kernel


@pytest.mark.parametrize("entry", UNARY, ids=_name)
def test_unary_math_matches_its_description(entry):
    fn, ref, (lo, hi) = entry
    x = _uniform(0, lo, hi)
    np.testing.assert_allclose(_unary_kernel(fn)(x), ref(x.astype(np.float64)), rtol=2e-5, atol=2e-5)


def _binary_kernel(fn, dtype):
    @nki.jit
    def kernel(x, y):
        return _out(fn(_load(x), _load(y), dtype=dtype))
    return kernel


@pytest.mark.parametrize("entry", BINARY, ids=_name)
def test_binary_ops_match_their_description(entry):
    fn, ref, dtype, (lo, hi) = entry
    x, y = _uniform(1, lo, hi, dtype), _uniform(2, lo, hi, dtype)
    out = _binary_kernel(fn, dtype)(x, y)
    np.testing.assert_allclose(out, ref(x.astype(np.float64) if dtype == np.float32 else x, y).astype(dtype),
                               rtol=2e-5, atol=2e-5)


@nki.jit
def bool_ops(x):
    t = _load(x)
    return _out(nl.logical_not(t, dtype=nl.int32)), _out(nl.invert(t, dtype=nl.int32))


def test_logical_not_and_invert():
    x = _uniform(3, -4, 4, np.int32)
    out, inv = bool_ops(x)
    np.testing.assert_array_equal(out, (x == 0).astype(np.int32))
    np.testing.assert_array_equal(inv, np.invert(x))


@nki.jit
def abs_max_kernel(x, y):
    return _out(nl.abs_max(_load(x), _load(y)))


def test_abs_max_keeps_the_signed_value_of_the_larger_magnitude():
    x, y = _uniform(4, -3, 3), _uniform(5, -3, 3)
    with target("trn3"):
        out = abs_max_kernel(x, y)
    np.testing.assert_array_equal(out, np.where(np.abs(x) > np.abs(y), x, y))


def _reduce_kernel(fn):
    @nki.jit
    def kernel(x):
        return _out(fn(_load(x), axis=1, dtype=nl.float32, keepdims=True))
    return kernel


@pytest.mark.parametrize("entry", REDUCTIONS, ids=_name)
def test_reductions_along_the_free_axis(entry):
    fn, ref = entry
    x = _uniform(6, 0.8, 1.2)
    np.testing.assert_allclose(_reduce_kernel(fn)(x), ref(x.astype(np.float64), axis=1, keepdims=True), rtol=1e-4,
                               atol=1e-6)


@nki.jit
def all_kernel(x):
    return _out(nl.all(_load(x), axis=1, dtype=nl.uint8))


def test_all_is_true_where_every_element_is_nonzero():
    x = np.ones((P, F), np.int32)
    x[::3, 5] = 0
    out = all_kernel(x)
    np.testing.assert_array_equal(out.reshape(P), np.all(x != 0, axis=1).astype(np.uint8))


CONSTANT = np.arange(P * 8, dtype=np.float32).reshape(P, 8)


@nki.jit
def creation(x):
    a = _load(x)
    el = nl.empty_like(a)
    nisa.tensor_scalar(el, a, nl.add, 2.0)
    c = _load(nl.shared_constant(CONSTANT))
    row = _load(x[0:1, :])
    return (_out(nl.ones((P, F), dtype=nl.float32)), _out(nl.zeros_like(a)), _out(el),
            _out(nl.full((P, F), 7.5, nl.float32)), _out(c), _out(nl.broadcast_to(row, (P, F))))


def test_creation_calls_hold_the_documented_values():
    x = _uniform(7, -3, 3)
    ones, zeros, el, full, const, bcast = creation(x)
    np.testing.assert_array_equal(ones, np.ones((P, F), np.float32))
    np.testing.assert_array_equal(zeros, np.zeros((P, F), np.float32))
    np.testing.assert_allclose(el, x + 2.0, rtol=1e-6)
    np.testing.assert_array_equal(full, np.full((P, F), 7.5, np.float32))
    np.testing.assert_array_equal(const, CONSTANT)
    np.testing.assert_array_equal(bcast, np.broadcast_to(x[0:1], (P, F)))


@nki.jit
def layout(x, y):
    a = _load(x[:, nl.ds(8, 32)])
    t = nl.copy(nl.transpose(_load(x[0:64, 0:32])))
    lt = nl.load_transpose2d(x[0:64, 0:32])
    w = nl.where(nl.greater(_load(x), _load(y)), _load(x), _load(y))
    return _out(a), _out(t), _out(lt), _out(w)


def test_ds_transpose_load_transpose2d_and_where():
    x, y = _uniform(8, -3, 3, shape=(P, P)), _uniform(9, -3, 3, shape=(P, P))
    a, t, lt, w = layout(x, y)
    np.testing.assert_array_equal(a, x[:, 8:40])
    np.testing.assert_array_equal(t, x[0:64, 0:32].T)
    np.testing.assert_array_equal(lt, x[0:64, 0:32].T)
    np.testing.assert_array_equal(w, np.where(x > y, x, y))


@nki.jit
def matmuls(x, y):
    return _out(nl.copy(nl.matmul(_load(x), _load(y), transpose_x=True)))


def test_matmul_with_transpose_x_contracts_the_partition_dimension():
    x, y = _uniform(10, -1, 1, shape=(P, 64)), _uniform(11, -1, 1, shape=(P, 32))
    assert_close(matmuls(x, y), x.T.astype(np.float64) @ y)


@nki.jit
def rms(x, w):
    return _out(nl.rms_norm(_load(x), _load(w), axis=1, n=x.shape[1]))


def test_rms_norm_divides_by_the_root_mean_square_and_scales():
    x, w = _uniform(12, -3, 3), _uniform(13, 0.5, 2)
    ref = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1, keepdims=True) + 1e-6) * w
    assert_close(rms(x, w), ref)


@nki.jit
def random_values(seed, x):
    nl.random_seed(_load(seed))
    r = nl.rand((P, F), dtype=nl.float32)
    d = nl.dropout(_load(x), 0.25)
    keep = nl.dropout(_load(x), 0.0)
    return _out(r), _out(d), _out(keep)


def test_random_seed_repeats_rand_and_dropout_zeroes_at_the_rate():
    x = _uniform(14, 1, 2, shape=(P, F))
    s42, s7 = np.array([[42]], np.int32), np.array([[7]], np.int32)
    r1, d1, keep = random_values(s42, x)
    r2, d2, _ = random_values(s42, x)
    r3, _, _ = random_values(s7, x)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(d1, d2)
    assert not np.array_equal(r1, r3)
    assert 0.0 <= r1.min() and r1.max() < 1.0 and abs(r1.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(keep, x)
    dropped = d1 == 0
    assert abs(dropped.mean() - 0.25) < 0.03
    np.testing.assert_array_equal(d1[~dropped], x[~dropped])


@nki.jit
def prng(seed):
    nisa.set_rng_seed(_load(seed))
    bits = nl.ndarray((P, F), dtype=nl.uint32)
    nisa.rng(bits)
    return _out(bits)


def test_set_rng_seed_makes_rng_repeatable():
    a, b = prng(np.array([[5]], np.uint32)), prng(np.array([[5]], np.uint32))
    c = prng(np.array([[6]], np.uint32))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(np.unique(a)) > P * F // 2  # 32 random bits per element


@nki.jit
def ordered(x):
    t = _load(x)
    with nl.no_reorder():
        u = nl.exp(t)
        v = nl.add(u, 1.0)
    return _out(v)


def test_no_reorder_keeps_the_values():
    x = _uniform(15, -2, 2)
    assert_close(ordered(x), np.exp(x.astype(np.float64)) + 1.0)


@nki.jit
def loops(x):
    acc = nl.zeros((P, F), dtype=nl.float32)
    t = _load(x)
    for i in nl.sequential_range(3):
        nisa.scalar_tensor_tensor(dst=acc, data=t, op0=nl.multiply, operand0=float(i + 1), op1=nl.add, operand1=acc)
    for _ in nl.static_range(2):
        nisa.tensor_scalar(acc, acc, nl.add, 1.0)
    return _out(acc)


def test_sequential_and_static_range_run_every_iteration():
    x = _uniform(16, -2, 2)
    assert_close(loops(x), 6 * x.astype(np.float64) + 2)


@nki.jit
def grid_shape(x):
    out = nl.ndarray((1, 2), dtype=nl.int32, buffer=nl.shared_hbm)
    t = nl.full((1, 2), nl.program_ndim(), nl.int32)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_program_ndim_counts_the_launch_grid_dimensions():
    x = np.zeros((1, 1), np.float32)
    np.testing.assert_array_equal(grid_shape(x), [[0, 0]])
    with target("trn2"):
        np.testing.assert_array_equal(grid_shape[2](x), [[1, 1]])


@nki.jit
def top8(x):
    d = _load(x)
    m = nl.ndarray((P, 8), dtype=nl.float32)
    nisa.max8(m, d)
    idx = nl.ndarray((P, 8), dtype=nl.uint32)
    nisa.nc_find_index8(idx, d, m)
    rep = nl.ndarray(x.shape, dtype=nl.float32)
    rep_idx = nl.ndarray((P, 8), dtype=nl.uint32)
    nisa.nc_match_replace8(rep, d, m, -1.0, dst_idx=rep_idx)
    return _out(m), _out(idx), _out(rep), _out(rep_idx)


def test_max8_find_index8_and_match_replace8():
    x = np.random.default_rng(17).standard_normal((P, F)).astype(np.float32)
    m, idx, rep, rep_idx = top8(x)
    order = np.argsort(-x, axis=1, kind="stable")[:, :8]
    np.testing.assert_array_equal(m, np.take_along_axis(x, order, axis=1))
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_array_equal(rep_idx, order)
    ref = x.copy()
    np.put_along_axis(ref, order, -1.0, axis=1)
    np.testing.assert_array_equal(rep, ref)


SHUFFLE = [(i + 3) % 32 for i in range(32)]


@nki.jit
def shuffled(x):
    src = _load(x)
    dst = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.nc_stream_shuffle(dst, src, SHUFFLE)
    return _out(dst)


def test_nc_stream_shuffle_moves_partitions_within_each_quadrant():
    x = _uniform(18, -3, 3, shape=(64, 16))
    rows = np.array([q * 32 + SHUFFLE[i] for q in range(2) for i in range(32)])
    np.testing.assert_array_equal(shuffled(x), x[rows])


@nki.jit
def ranged(x, lo, hi):
    dst = nl.ndarray(x.shape, dtype=nl.float32)
    res = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.range_select(dst, _load(x), nl.greater_equal, nl.less, _load(lo), _load(hi), reduce_res=res,
                      reduce_op=nl.maximum, range_start=32, on_false_value=nl.fp32.min)
    return _out(dst), _out(res)


def test_range_select_keeps_the_index_range_and_reduces():
    x = _uniform(19, -3, 3)
    rng = np.random.default_rng(19)
    lo = rng.integers(0, 60, (P, 1)).astype(np.float32)
    hi = lo + rng.integers(1, 40, (P, 1)).astype(np.float32)
    with target("trn2"):
        out, res = ranged(x, lo, hi)
    idx = 32 + np.arange(F)[None, :]
    ref = np.where((idx >= lo) & (idx < hi), x, np.finfo(np.float32).min)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(res[:, 0], ref.max(axis=1))


@nki.jit
def gathered(src, index):
    dst = nl.ndarray((P, 64, 4), dtype=src.dtype)
    nisa.local_gather(dst, _load(src), _load(index), 4, 64)
    return _out(dst)


def test_local_gather_takes_elements_per_core_group():
    rng = np.random.default_rng(20)
    src = rng.random((P, 512, 4)).astype(np.float32)
    per_core = rng.integers(0, 512, size=(16, 4)).astype(np.uint16)
    index = np.tile(per_core, (8, 1))
    out = gathered(src, (index * 4).astype(np.uint16))
    ref = np.empty((P, 64, 4), np.float32)
    for core in range(8):  # each 16-partition group gathers with the indices of its own partitions
        rows = slice(core * 16, (core + 1) * 16)
        ref[rows] = np.take(src[rows], index[rows].flatten(order="F")[:64], axis=1)
    np.testing.assert_array_equal(out, ref)


@nki.jit
def bounds(ids):
    dst = nl.ndarray((1, 2, ids.shape[1]), dtype=ids.dtype)
    nisa.sequence_bounds(dst, _load(ids))
    return _out(dst)


def test_sequence_bounds_of_the_documented_example():
    ids = np.array([[0, 1, 1, 2, 2, 2, 0, 3, 3]], np.float32)
    np.testing.assert_array_equal(bounds(ids)[0], [[9, 1, 1, 3, 3, 3, 9, 7, 7], [-1, 3, 3, 6, 6, 6, -1, 9, 9]])


@nki.jit
def tensor_methods(x, idx):
    t = _load(x)
    split = t.reshape_dim(1, (4, -1))
    picked = nl.ndarray((P, 4, 16), dtype=x.dtype)
    nisa.tensor_copy(dst=picked, src=split)
    i = _load(idx)
    ind = t.indirect(i, num_elem=4)
    flags = nl.full((1, 2), 0, nl.int32)
    if ind.is_indirect():
        nisa.memset(flags[:, 0:1], 1)
    if t.is_indirect():
        nisa.memset(flags[:, 1:2], 1)
    return _out(picked), _out(flags)


def test_reshape_dim_splits_a_dimension_and_is_indirect_reports_indirection():
    x = _uniform(21, -3, 3)
    idx = np.zeros((P, 1), np.int32)
    with target("trn3"):
        picked, flags = tensor_methods(x, idx)
    np.testing.assert_array_equal(picked, x.reshape(P, 4, 16))
    np.testing.assert_array_equal(flags, [[1, 0]])
