"""The less common nl.* calls of the legacy dialect: selects, broadcasts, cross-iteration/instance reductions,
random numbers and the composites (softmax, rms_norm, var)."""

import warnings

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiWarning
from tests.fakes.extra_ops_support import SEEDS, error_code, normal, ops, run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402
import neuronxcc.nki.typing as nt  # noqa: E402

P, F = 128, 512
HBM, F32 = nl.shared_hbm, nl.float32


# ---------------------------------------------------------------- where and broadcast_to


def k_where(x, y):
    out, out_scalar = nl.ndarray(x.shape, F32, buffer=HBM), nl.ndarray(x.shape, F32, buffer=HBM)
    i_p = nl.arange(P)[:, None]
    xt, yt = nl.load(x), nl.load(y)
    cond = nl.greater(xt, yt, dtype=nl.uint8)
    nl.store(out, nl.where(cond, xt, yt))
    picked = nl.zeros(x.shape, dtype=nl.float32)
    picked[...] = nl.where(cond, xt, -1.0, mask=(i_p < 64))
    nl.store(out_scalar, picked)
    return out, out_scalar


@pytest.mark.parametrize("seed", SEEDS)
def test_where_tiles_scalars_and_mask(seed):
    x, y = normal(seed, (P, F)), normal(seed + 1, (P, F))
    (out, out_scalar), trace = run(k_where, x, y)
    np.testing.assert_array_equal(out, np.maximum(x, y))
    np.testing.assert_array_equal(out_scalar[:64], np.where(x > y, x, -1.0)[:64])
    np.testing.assert_array_equal(out_scalar[64:], 0)
    assert ops(trace).count(("SELECT", "dve")) == 2


def k_compare_predicate(x):
    out = nl.ndarray(x.shape, F32, buffer=HBM)
    t = nl.load(x)
    dst = nl.zeros(x.shape, dtype=nl.float32)
    nisa.tensor_copy_predicated(src=t, dst=dst, predicate=nl.greater(t, 0.0))  # comparisons default to bool
    nisa.tensor_copy_predicated(src=-1.0, dst=dst, predicate=t < -1.0)
    nl.store(out, dst)
    return out


def test_comparisons_give_bool_predicates():
    x = normal(0, (P, F))
    out, _ = run(k_compare_predicate, x)
    np.testing.assert_array_equal(out, np.where(x < -1, -1.0, np.maximum(x, 0)))


def k_broadcast(row, col):
    a = nl.ndarray((P, F), F32, buffer=HBM)
    b = nl.ndarray((P, F), F32, buffer=HBM)
    c = nl.ndarray((P, F), F32, buffer=HBM)
    r, k = nl.load(row), nl.load(col)
    nl.store(a, nl.broadcast_to(r, shape=(P, F)))  # along partitions: Tensor engine
    nl.store(b, nl.broadcast_to(k, shape=(P, F)))  # along the free dimension: a Vector copy
    nl.store(c, r.broadcast_to((P, F)))
    return a, b, c


@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_to_partitions_and_free_dims(seed):
    row, col = normal(seed, (1, F)), normal(seed + 1, (P, 1))
    (a, b, c), trace = run(k_broadcast, row, col)
    np.testing.assert_array_equal(a, np.broadcast_to(row, (P, F)))
    np.testing.assert_array_equal(b, np.broadcast_to(col, (P, F)))
    np.testing.assert_array_equal(c, a)
    seq = ops(trace)
    assert seq.count(("MATMUL", "pe")) == 2 and ("TENSOR_COPY", "dve") in seq
    mm = next(i for i in trace.instructions if i.opcode == "MATMUL")
    assert (mm.attrs["contract"], mm.attrs["stationary_elems"], mm.attrs["moving_elems"]) == (1, P, F)


def k_broadcast_int(row):
    out = nl.ndarray((P, row.shape[1]), row.dtype, buffer=HBM)
    nl.store(out, nl.broadcast_to(nl.load(row), shape=(P, row.shape[1])))
    return out


def test_broadcast_to_is_bit_exact_for_int32():
    row = np.random.default_rng(0).integers(-(2**30), 2**30, (1, 64)).astype(np.int32)
    out, _ = run(k_broadcast_int, row)
    np.testing.assert_array_equal(out, np.repeat(row, P, axis=0))


def _covered(acc, size: int) -> np.ndarray:
    """How often each free element of a tensor of ``size`` elements per partition is in ``acc``'s region."""
    hits = np.zeros(size, dtype=np.int64)
    idx = np.array([acc.offset])
    for stride, count in acc.pattern:
        idx = (idx[:, None] + stride * np.arange(count)[None, :]).reshape(-1)
    np.add.at(hits, idx, 1)
    return hits


def k_broadcast_wide(shape):
    def kernel(row):
        out = nl.ndarray(shape, row.dtype, buffer=HBM)
        nl.store(out, nl.broadcast_to(nl.load(row), shape=shape))
        return out
    return kernel


@pytest.mark.parametrize(("src", "dst"), [((1, 1200), (P, 1200)),  # 512, 512, 176
                                          ((1, 4, 256), (P, 4, 256)),  # chunks of two whole rows
                                          ((1, 1024, 1), (P, 1024, 4)),  # repeated innermost dimension
                                          ((1, 1, 1024), (P, 4, 1024))])  # repeated outer dimension
def test_wide_partition_broadcast_chunks_record_their_own_slices(src, dst):
    """Each ones-matmul reads only its chunk of the row and each copy writes only that chunk's part of the
    result: the chunks' regions are disjoint and cover the row and the result once."""
    row = normal(0, src)
    out, trace = run(k_broadcast_wide(dst), row)
    np.testing.assert_array_equal(out, np.broadcast_to(row, dst))
    mms = [i for i in trace.instructions if i.opcode == "MATMUL"]
    copies = [i for i in trace.instructions if i.opcode == "TENSOR_COPY" and i.api == "nl.broadcast_to"]
    n, m = int(np.prod(src[1:])), int(np.prod(dst[1:]))
    assert len(mms) == len(copies) == -(-n // 512)
    np.testing.assert_array_equal(sum(_covered(i.src[1], n) for i in mms), np.ones(n))
    np.testing.assert_array_equal(sum(_covered(i.dst[0], m) for i in copies), np.ones(m))
    assert [i.src[1].free_elems for i in mms] == [i.elems for i in mms]
    assert [i.dst[0].free_elems for i in copies] == [i.elems for i in copies]


def k_broadcast_bad(x):
    nl.broadcast_to(nl.load(x), shape=(P, 4, 4))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_broadcast_to_rank_mismatch():
    assert error_code(k_broadcast_bad, np.zeros((1, 4), np.float32)) == "err_invalid_argument"


def k_expand(x):
    out = nl.ndarray((P, 4, 8), F32, buffer=HBM)
    t = nl.load(x)
    nl.store(out, nl.broadcast_to(nl.expand_dims(t, 2), shape=(P, 4, 8)))
    return out


def test_expand_dims_view_feeds_a_broadcast():
    x = normal(0, (P, 4))
    out, trace = run(k_expand, x)
    np.testing.assert_array_equal(out, np.broadcast_to(x[:, :, None], (P, 4, 8)))
    assert ops(trace) == [("DMA", "dma"), ("TENSOR_COPY", "dve"), ("DMA", "dma")]


# ---------------------------------------------------------------- loop_reduce and all_reduce


def k_loop_reduce_inner(a):
    k, _, d = a.shape
    out = nl.ndarray((P, d), F32, buffer=HBM)
    acc = nl.zeros((P, d), dtype=nl.float32)
    for i in nl.affine_range(k):
        acc[...] = nl.loop_reduce(nl.load(a[i]), op=np.add, loop_indices=[i], dtype=nl.float32)
    nl.store(out, acc)
    return out


def k_loop_reduce_outer(a):
    k, m, _, d = a.shape
    out = nl.ndarray((m, P, d), F32, buffer=HBM)
    acc = nl.ndarray((m, nl.par_dim(P), d), dtype=nl.float32)
    for i in nl.affine_range(k):
        for j in nl.affine_range(m):
            acc[j] = nl.loop_reduce(nl.load(a[i, j]), op=np.maximum, loop_indices=[i])
    for j in nl.affine_range(m):
        nl.store(out[j], acc[j])
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_loop_reduce_over_inner_and_outer_loops(seed):
    a = normal(seed, (4, P, F))
    out, trace = run(k_loop_reduce_inner, a)
    np.testing.assert_allclose(out, a.sum(axis=0), rtol=1e-5, atol=1e-5)
    adds = [i for i in trace.instructions if i.opcode == "TENSOR_TENSOR"]
    assert len(adds) == 4 and adds[1].src[1].tensor == adds[0].dst[0].tensor  # each step reads the last result
    b = normal(seed, (3, 2, P, 64))
    out, _ = run(k_loop_reduce_outer, b)
    np.testing.assert_array_equal(out, b.max(axis=0))


def k_all_reduce(x):
    out = nl.ndarray((P, F), F32, buffer=HBM)
    i = nl.program_id(0)
    part = nl.load(x[i])
    nl.store(out, nl.all_reduce(part, op=np.add, program_axes=0))
    return out


def test_all_reduce_over_an_spmd_grid():
    x = normal(0, (2, P, F))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, trace = run(k_all_reduce, x, grid=(2,))
    np.testing.assert_allclose(out, x.sum(axis=0), rtol=1e-6)  # the last instance holds the full sum
    assert any(issubclass(w.category, NkiWarning) and "one after another" in str(w.message) for w in caught)
    assert ops(trace).count(("TENSOR_TENSOR", "dve")) == 2 and ops(trace).count(("DMA", "dma")) == 2 + 2 + 2


# ---------------------------------------------------------------- random numbers


def k_random(seed_value):
    a = nl.ndarray((P, 64), F32, buffer=HBM)
    b = nl.ndarray((P, 64), F32, buffer=HBM)
    c = nl.ndarray((P, 64), F32, buffer=HBM)
    nl.random_seed(7)
    nl.store(a, nl.rand((P, 64)))
    nl.random_seed(7)
    nl.store(b, nl.rand((P, 64)))
    nl.store(c, nl.dropout(nl.load(seed_value), rate=0.5))
    return a, b, c


def test_random_seed_rand_and_dropout():
    ones = np.ones((P, 64), np.float32)
    (a, b, c), trace = run(k_random, ones)
    np.testing.assert_array_equal(a, b)
    assert 0 <= a.min() and a.max() < 1 and abs(a.mean() - 0.5) < 0.05
    assert set(np.unique(c)) <= {0.0, 1.0} and abs((c == 0).mean() - 0.5) < 0.05
    assert ops(trace).count(("RNG", "dve")) == 5


# ---------------------------------------------------------------- composites


def k_norms(x, w):
    sm = nl.ndarray(x.shape, F32, buffer=HBM)
    rms = nl.ndarray(x.shape, F32, buffer=HBM)
    var = nl.ndarray((x.shape[0], 1), F32, buffer=HBM)
    t, g = nl.load(x), nl.load(w)
    nl.store(sm, nl.softmax(t, axis=1))
    nl.store(rms, nl.rms_norm(t, g, axis=1, n=x.shape[1]))
    nl.store(var, nl.var(t, axis=1))
    return sm, rms, var


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_rms_norm_var_rows(seed):
    x, w = normal(seed, (P, 1024)), normal(seed + 1, (1, 1024))
    (sm, rms, var), trace = run(k_norms, x, w)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(sm, _softmax(x64, 1), rtol=1e-5, atol=1e-9)
    ref = x64 / np.sqrt((x64**2).mean(axis=1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(rms, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var[:, 0], x64.var(axis=1), rtol=1e-5)
    seq = [i.opcode for i in trace.instructions if i.api == "nl.softmax"]
    assert seq == ["TENSOR_REDUCE", "ACTIVATE", "RECIPROCAL", "TENSOR_SCALAR"]
    assert [i.opcode for i in trace.instructions if i.api == "nl.var"] == ["BN_STATS", "BN_STATS", "BN_AGGR",
                                                                           "TENSOR_COPY"]


def k_softmax_3d(x):
    sm = nl.ndarray(x.shape, F32, buffer=HBM)
    var = nl.ndarray(x.shape[:2], F32, buffer=HBM)
    t = nl.load(x)
    nl.store(sm, nl.softmax(t, axis=2))
    nl.store(var, nl.var(t, axis=2))
    return sm, var


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_and_var_over_the_last_of_two_free_axes(seed):
    x = normal(seed, (P, 4, 128))
    (sm, var), _ = run(k_softmax_3d, x)
    np.testing.assert_allclose(sm, _softmax(x.astype(np.float64), 2), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=2), rtol=1e-4, atol=1e-6)


def k_softmax_ragged(x):
    n, d = x.shape
    out = nl.ndarray((n, d), F32, buffer=HBM)
    i_p, i_f = nl.arange(P)[:, None], nl.arange(d)[None, :]
    for t in nl.affine_range((n + P - 1) // P):
        rows = t * P + i_p < n
        xt = nl.load(x[t * P + i_p, i_f], mask=rows)
        nl.store(out[t * P + i_p, i_f], nl.softmax(xt, axis=1, mask=rows), mask=rows)
    return out


def test_softmax_masked_ragged_rows():
    x = normal(1, (200, 256))
    out, _ = run(k_softmax_ragged, x)
    np.testing.assert_allclose(out, _softmax(x.astype(np.float64), 1), rtol=1e-5, atol=1e-9)


def k_softmax_bad_axis(x):
    nl.softmax(nl.load(x), axis=0)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_softmax_rejects_the_partition_axis():
    assert error_code(k_softmax_bad_axis, np.zeros((P, 8), np.float32)) == "err_invalid_argument"


# ---------------------------------------------------------------- small helpers


def k_misc(x, acc: nt.mutable_tensor):
    out = nl.ndarray(x.shape, F32, buffer=HBM)
    t = nl.load(x)
    nl.store(out, nl.tan(t))
    nl.atomic_rmw(acc, value=t, op=np.add)
    return out, acc


def test_tan_atomic_rmw_and_static_cast():
    x = normal(0, (P, 16)) * 0.5
    acc = np.ones((P, 16), np.float32)
    (out, acc_out), trace = run(k_misc, x, acc)
    np.testing.assert_allclose(out, np.tan(x), rtol=1e-6)
    np.testing.assert_allclose(acc_out, 1 + x, rtol=1e-6)
    assert next(i for i in trace.instructions if i.api == "nl.atomic_rmw").attrs["rmw"] == "add"
    cast = nl.static_cast(np.array([1.5, 2.25]), nl.bfloat16)
    assert cast.dtype == nl.bfloat16 and cast.tolist() == [1.5, 2.25]


def test_isa_and_language_export_the_extra_ops():
    for name in ("affine_select", "bn_stats", "bn_aggr", "tensor_tensor_scan", "select_reduce", "max8",
                 "local_gather", "nc_stream_shuffle", "range_select", "dma_transpose", "tensor_copy_predicated"):
        assert callable(getattr(nisa, name))
    for name in ("where", "broadcast_to", "loop_reduce", "all_reduce", "softmax", "rms_norm", "rand", "dropout"):
        assert callable(getattr(nl, name))
