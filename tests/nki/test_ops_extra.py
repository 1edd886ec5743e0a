"""The less common nisa.* instructions of the legacy dialect: values against numpy, masks, traces, errors."""

import numpy as np
import pytest

import autocomp.nki
from tests.fakes.extra_ops_support import SEEDS, error_code, normal, ops, run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P, F = 128, 512
HBM, F32 = nl.shared_hbm, nl.float32


# ---------------------------------------------------------------- GpSimd: iota, affine_select, partition reduce


def k_iota(x):
    out = nl.ndarray((P, F), F32, buffer=HBM)
    i_p, i_f = nl.mgrid[0:P, 0:F]
    t = nl.zeros((P, F), dtype=nl.float32)
    t[...] = nisa.iota(3 + 2 * i_p - i_f, dtype=nl.float32, mask=(i_f < 100))
    nl.store(out, t)
    return out


def test_iota_masked_values_and_gpsimd_trace():
    out, trace = run(k_iota, np.zeros((1, 1), np.float32))
    ref = 3 + 2 * np.arange(P)[:, None] - np.arange(F)[None, :]
    np.testing.assert_array_equal(out[:, :100], ref[:, :100])
    np.testing.assert_array_equal(out[:, 100:], 0)
    assert ("IOTA", "pool") in ops(trace)


def k_causal(a):
    out = nl.ndarray(a.shape, a.dtype, buffer=HBM)
    i_p, i_f = nl.mgrid[0:P, 0:P]
    t = nl.load(a)
    nl.store(out, nisa.affine_select(pred=(i_f <= i_p), on_true_tile=t, on_false_value=-9984.0))
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.float32, nl.bfloat16], ids=["fp32", "bf16"])
def test_affine_select_causal_mask(seed, dtype):
    a = normal(seed, (P, P), dtype)
    out, trace = run(k_causal, a)
    ref = np.where(np.tril(np.ones((P, P), bool)), a.astype(np.float32), -9984.0)
    np.testing.assert_array_equal(out.astype(np.float32), ref.astype(dtype).astype(np.float32))
    assert ("AFFINE_SELECT", "pool") in ops(trace)


def k_affine_select_int32(a):
    i_p, i_f = nl.mgrid[0:P, 0:P]
    nisa.affine_select(pred=(i_f <= i_p), on_true_tile=nl.load(a), on_false_value=0.0)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_affine_select_errors():
    # A PSUM on_true_tile is accepted in the legacy dialect (test_compiler_accepts.py).
    assert error_code(k_affine_select_int32, np.zeros((P, P), np.int32)) == "err_unsupported_dtype"


def k_partition_reduce(a, op_name):
    out = nl.ndarray((1, 32, 4), a.dtype, buffer=HBM)
    op = {"add": np.add, "max": nl.maximum, "or": nl.bitwise_or}[op_name]
    nl.store(out, nisa.tensor_partition_reduce(op, nl.load(a)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_tensor_partition_reduce(seed):
    a = normal(seed, (P, 32, 4))
    out, trace = run(k_partition_reduce, a, "add")
    np.testing.assert_allclose(out, a.sum(axis=0, keepdims=True), rtol=1e-5, atol=1e-5)
    assert ops(trace)[1] == ("PARTITION_REDUCE", "pool")
    out, _ = run(k_partition_reduce, a, "max")
    np.testing.assert_array_equal(out, a.max(axis=0, keepdims=True))
    bits = np.random.default_rng(seed).integers(0, 1 << 20, (P, 32, 4)).astype(np.int32)
    out, _ = run(k_partition_reduce, bits, "or")
    np.testing.assert_array_equal(out, np.bitwise_or.reduce(bits, axis=0, keepdims=True))


def k_partition_reduce_subtract(a):
    nisa.tensor_partition_reduce(np.subtract, nl.load(a))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_tensor_partition_reduce_rejects_subtract():
    assert error_code(k_partition_reduce_subtract, np.zeros((P, 4), np.float32)) == "err_unsupported_operation"


def k_local_gather(src, index):
    out = nl.ndarray((P, 64, 4), src.dtype, buffer=HBM)
    nl.store(out, nisa.local_gather(nl.load(src), nl.load(index), 4, 64))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_local_gather_matches_documented_numpy(seed):
    rng = np.random.default_rng(seed)
    src = rng.random((P, 512, 4)).astype(np.float32)
    per_core = rng.integers(0, 512, size=(16, 4)).astype(np.uint16)
    index = np.tile(per_core, (8, 1))
    out, trace = run(k_local_gather, src, (index * 4).astype(np.uint16))
    ref = np.empty((P, 64, 4), np.float32)
    for core in range(8):
        rows = slice(core * 16, (core + 1) * 16)
        ref[rows] = np.take(src[rows], index[rows].flatten(order="F")[:64], axis=1)
    np.testing.assert_array_equal(out, ref)
    assert ("GATHER", "pool") in ops(trace)


def test_local_gather_errors():
    src = np.zeros((P, 512, 4), np.float32)
    assert error_code(k_local_gather, src, np.zeros((P, 4), np.int32)) == "err_unsupported_dtype"
    assert error_code(k_local_gather, src, np.full((P, 4), 600 * 4, np.uint16)) == "err_runtime_out_of_bounds"


def k_sequence_bounds(ids):
    out = nl.ndarray((1, 2, ids.shape[1]), ids.dtype, buffer=HBM)
    nl.store(out, nisa.sequence_bounds(segment_ids=nl.load(ids)))
    return out


def test_sequence_bounds_documented_example():
    ids = np.array([[0, 1, 1, 2, 2, 2, 0, 3, 3]], np.float32)
    out, _ = run(k_sequence_bounds, ids)
    np.testing.assert_array_equal(out[0], [[9, 1, 1, 3, 3, 3, 9, 7, 7], [-1, 3, 3, 6, 6, 6, -1, 9, 9]])


# ---------------------------------------------------------------- Vector: scans and statistics


def k_scan(a, b, op0_name, reverse):
    out = nl.ndarray(a.shape, F32, buffer=HBM)
    at, bt = nl.load(a), nl.load(b)
    op0 = {"multiply": np.multiply, "add": np.add, "subtract": np.subtract}[op0_name]
    c = nl.ndarray(a.shape, dtype=nl.float32)
    half = a.shape[1] // 2
    c[:, 0:half] = nisa.tensor_tensor_scan(at[:, 0:half], bt[:, 0:half], initial=0.5, op0=op0, op1=np.add,
                                           reverse0=reverse)
    c[:, half:] = nisa.tensor_tensor_scan(at[:, half:], bt[:, half:], initial=c[:, half - 1], op0=op0, op1=np.add,
                                          reverse0=reverse)
    nl.store(out, c)
    return out


def _scan_ref(a, b, op0, reverse, init=0.5):
    r = np.full(a.shape[0], init, np.float64)
    out = np.empty(a.shape)
    for i in range(a.shape[1]):
        r = (op0(r, a[:, i]) if reverse else op0(a[:, i], r)) + b[:, i]
        out[:, i] = r
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op0,reverse", [("multiply", False), ("add", False), ("subtract", True)])
def test_tensor_tensor_scan_chained_tiles(seed, op0, reverse):
    a = np.random.default_rng(seed).random((P, 2 * F)).astype(np.float32)
    b = normal(seed + 10, (P, 2 * F))
    out, trace = run(k_scan, a, b, op0, reverse)
    ref = _scan_ref(a.astype(np.float64), b.astype(np.float64), getattr(np, op0), reverse)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3 * np.abs(ref).max())
    assert ops(trace).count(("TENSOR_TENSOR_SCAN", "dve")) == 2


def k_scan_masked(a, b):
    out = nl.ndarray(a.shape, F32, buffer=HBM)
    i_p = nl.arange(P)[:, None]
    c = nl.zeros(a.shape, dtype=nl.float32)
    c[...] = nisa.tensor_tensor_scan(nl.load(a), nl.load(b), initial=0.0, op0=np.multiply, op1=np.add,
                                     mask=(i_p < 64))
    nl.store(out, c)
    return out


def test_tensor_tensor_scan_mask_leaves_other_partitions():
    a, b = np.full((P, 16), 0.5, np.float32), np.ones((P, 16), np.float32)
    out, _ = run(k_scan_masked, a, b)
    np.testing.assert_allclose(out[:64], np.broadcast_to(_scan_ref(a[:1], b[:1], np.multiply, False, 0.0), (64, 16)))
    np.testing.assert_array_equal(out[64:], 0)


def k_scan_both_psum(a):
    t = nl.zeros((P, 8), dtype=nl.float32, buffer=nl.psum)
    nisa.tensor_tensor_scan(t, t, initial=0.0, op0=np.multiply, op1=np.add)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_tensor_tensor_scan_rejects_two_psum_inputs():
    assert error_code(k_scan_both_psum, np.zeros((1, 1), np.float32)) == "err_unsupported_memory"


def k_bn(x):
    n, d = x.shape
    out = nl.ndarray((n, 2), F32, buffer=HBM)
    fmax = nl.tile_size.bn_stats_fmax
    chunks = (d + fmax - 1) // fmax
    i_p, i_f, i_o = nl.arange(P)[:, None], nl.arange(d)[None, :], nl.arange(2)[None, :]
    for t in nl.affine_range((n + P - 1) // P):
        rows = t * P + i_p < n
        xt = nl.load(x[t * P + i_p, i_f], mask=rows)
        stats = nl.ndarray((P, 6 * chunks), dtype=nl.float32)
        for c in nl.affine_range(chunks):
            width = min(fmax, d - c * fmax)
            stats[:, nl.ds(c * 6, 6)] = nisa.bn_stats(xt[:, nl.ds(c * fmax, width)], mask=rows, dtype=nl.float32)
        mv = nisa.bn_aggr(stats, mask=rows)
        nl.store(out[t * P + i_p, i_o], mv, mask=rows)
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(P, 1024), (200, 300), (P, 1025)], ids=["2chunks", "ragged_rows", "odd_tail"])
def test_bn_stats_bn_aggr_give_mean_and_variance(seed, shape):
    x = normal(seed, shape) * 3 + 1
    out, trace = run(k_bn, x)
    np.testing.assert_allclose(out[:, 0], x.mean(axis=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[:, 1], x.var(axis=1), rtol=1e-4, atol=1e-5)
    assert ("BN_STATS", "dve") in ops(trace) and ("BN_AGGR", "dve") in ops(trace)


def test_bn_stats_even_odd_layout():
    def kernel(x):
        out = nl.ndarray((P, 6), F32, buffer=HBM)
        nl.store(out, nisa.bn_stats(nl.load(x)))
        return out

    x = normal(0, (P, 7))
    out, _ = run(kernel, x)
    even, odd = x[:, 0::2], x[:, 1::2]
    ref = np.stack([np.full(P, 4), even.mean(1), even.var(1) * 4, np.full(P, 3), odd.mean(1), odd.var(1) * 3], 1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def k_bn_too_wide(x):
    nisa.bn_stats(nl.load(x))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def k_bn_aggr_not_triples(x):
    nisa.bn_aggr(nl.load(x))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_bn_errors():
    assert error_code(k_bn_too_wide, np.zeros((P, 513), np.float32)) == "err_size_of_dimension_exceed_arch_limit"
    assert error_code(k_bn_aggr_not_triples, np.zeros((P, 8), np.float32)) == "err_invalid_argument"


def k_scalar_reduce(x, scale, reduce_name):
    out, red = nl.ndarray(x.shape, F32, buffer=HBM), nl.ndarray((x.shape[0], 1), F32, buffer=HBM)
    res = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    reduce_op = {"add": np.add, "max": nl.max}[reduce_name]
    y = nisa.tensor_scalar_reduce(data=nl.load(x), op0=np.multiply, operand0=nl.load(scale), reduce_op=reduce_op,
                                  reduce_res=res)
    nl.store(out, y)
    nl.store(red, res)
    return out, red


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduce_name", ["add", "max"])
def test_tensor_scalar_reduce(seed, reduce_name):
    x, scale = normal(seed, (P, F)), normal(seed + 5, (P, 1))
    (out, red), trace = run(k_scalar_reduce, x, scale, reduce_name)
    y = x * scale
    np.testing.assert_allclose(out, y, rtol=1e-6)
    np.testing.assert_allclose(red[:, 0], y.sum(1) if reduce_name == "add" else y.max(1), rtol=1e-4, atol=1e-4)
    assert ops(trace).count(("TENSOR_SCALAR_REDUCE", "dve")) == 1


def k_scalar_reduce_reverse(x):
    res = nl.ndarray((P, 1), dtype=nl.float32)
    nisa.tensor_scalar_reduce(data=nl.load(x), op0=np.subtract, operand0=1.0, reduce_op=np.add, reduce_res=res,
                              reverse0=True)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_tensor_scalar_reduce_reverse0_not_supported():
    assert error_code(k_scalar_reduce_reverse, np.zeros((P, 4), np.float32)) == "err_unsupported_operation"


def k_max8_family(x):
    n = x.shape[0]
    top = nl.ndarray((n, 8), F32, buffer=HBM)
    idx = nl.ndarray((n, 8), nl.uint32, buffer=HBM)
    rep = nl.ndarray(x.shape, F32, buffer=HBM)
    rep_idx = nl.ndarray((n, 8), nl.uint32, buffer=HBM)
    d = nl.load(x)
    m = nisa.max8(src=d)
    found = nl.ndarray((n, 8), dtype=nl.uint32)
    replaced = nisa.nc_match_replace8(data=d, vals=m, imm=-1.0, dst_idx=found)
    nl.store(top, m)
    nl.store(idx, nisa.nc_find_index8(data=d, vals=m))
    nl.store(rep, replaced)
    nl.store(rep_idx, found)
    return top, idx, rep, rep_idx


@pytest.mark.parametrize("seed", SEEDS)
def test_max8_find_index8_match_replace8(seed):
    x = normal(seed, (P, F))
    (top, idx, rep, rep_idx), trace = run(k_max8_family, x)
    ref_top = -np.sort(-x, axis=1)[:, :8]
    np.testing.assert_array_equal(top, ref_top)
    ref_idx = np.argsort(-x, axis=1, kind="stable")[:, :8]
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(rep_idx, ref_idx)
    ref_rep = x.copy()
    np.put_along_axis(ref_rep, ref_idx, -1.0, axis=1)
    np.testing.assert_array_equal(rep, ref_rep)
    assert ops(trace).count(("MAX8", "dve")) == 3


def k_max8_too_small(x):
    nisa.max8(src=nl.load(x))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def k_find_index8_int8(x):
    d = nl.load(x)
    nisa.nc_find_index8(data=d, vals=nisa.max8(src=d), dtype=nl.int8)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_max8_family_errors():
    assert error_code(k_max8_too_small, np.zeros((P, 7), np.float32)) == "err_invalid_argument"
    assert error_code(k_find_index8_int8, np.zeros((P, 16), np.float32)) == "err_unsupported_dtype"


# ---------------------------------------------------------------- Vector: selects and predicated copies


def k_select_reduce(pred, a, b):
    out, red = nl.ndarray(a.shape, F32, buffer=HBM), nl.ndarray((a.shape[0], 1), F32, buffer=HBM)
    dst = nl.ndarray(a.shape, dtype=nl.float32)
    res = nl.ndarray((a.shape[0], 1), dtype=nl.float32)
    pt, at = nl.load(pred), nl.load(a)
    half = a.shape[1] // 2
    nisa.select_reduce(dst=dst[:, 0:half], predicate=pt[:, 0:half], on_true=at[:, 0:half], on_false=nl.load(b),
                       reduce_cmd=nisa.reduce_cmd.reset_reduce)
    nisa.select_reduce(dst=dst[:, half:], predicate=pt[:, half:], on_true=at[:, half:], on_false=-7.0,
                       reduce_cmd=nisa.reduce_cmd.reduce, reduce_res=res, reverse_pred=True)
    nl.store(out, dst)
    nl.store(red, res)
    return out, red


@pytest.mark.parametrize("seed", SEEDS)
def test_select_reduce_accumulates_across_instructions(seed):
    rng = np.random.default_rng(seed)
    pred = (rng.random((P, F)) < 0.5).astype(np.uint8)
    a, b = normal(seed, (P, F)), normal(seed + 1, (P, 1))
    (out, red), trace = run(k_select_reduce, pred, a, b)
    half = F // 2
    ref = np.concatenate([np.where(pred[:, :half], a[:, :half], b), np.where(pred[:, half:], -7.0, a[:, half:])], 1)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(red[:, 0], ref.max(axis=1))
    assert ops(trace).count(("SELECT", "dve")) == 2


def k_select_reduce_float_pred(pred):
    t = nl.load(pred)
    nisa.select_reduce(dst=nl.ndarray(pred.shape, dtype=nl.float32), predicate=t, on_true=t, on_false=0.0)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_select_reduce_needs_integer_predicate():
    assert error_code(k_select_reduce_float_pred, np.zeros((P, 4), np.float32)) == "err_unsupported_dtype"


def k_copy_predicated(pred, a, b):
    out = nl.ndarray(a.shape, F32, buffer=HBM)
    i_p = nl.arange(P)[:, None]
    dst = nl.ndarray(a.shape, dtype=nl.float32)
    dst[...] = nl.load(b)
    nisa.tensor_copy_predicated(src=nl.load(a), dst=dst, predicate=nl.load(pred), mask=(i_p < 100))
    nisa.tensor_copy_predicated(src=5.0, dst=dst, predicate=nl.load(pred), reverse_pred=True)
    nl.store(out, dst)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_tensor_copy_predicated(seed):
    rng = np.random.default_rng(seed)
    pred = rng.random((P, F)) < 0.3
    a, b = normal(seed, (P, F)), normal(seed + 1, (P, F))
    out, trace = run(k_copy_predicated, pred, a, b)
    ref = b.copy()
    ref[:100] = np.where(pred[:100], a[:100], b[:100])
    ref = np.where(pred, ref, 5.0)
    np.testing.assert_array_equal(out, ref)
    assert ops(trace).count(("COPY_PREDICATED", "dve")) == 2


def k_copy_predicated_dtype_mismatch(a):
    t = nl.load(a)
    nisa.tensor_copy_predicated(src=t, dst=nl.ndarray(a.shape, dtype=nl.bfloat16),
                                predicate=nl.ndarray(a.shape, dtype=nl.uint8))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_tensor_copy_predicated_needs_matching_dtypes():
    assert error_code(k_copy_predicated_dtype_mismatch, np.zeros((P, 4), np.float32)) == "err_unsupported_dtype"


def k_range_select(x, lo, hi):
    out, red = nl.ndarray(x.shape, F32, buffer=HBM), nl.ndarray((x.shape[0], 1), F32, buffer=HBM)
    res = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    r = nisa.range_select(on_true_tile=nl.load(x), comp_op0=np.greater_equal, comp_op1=np.less, bound0=nl.load(lo),
                          bound1=nl.load(hi), reduce_cmd=nisa.reduce_cmd.reset_reduce, reduce_res=res,
                          reduce_op=np.max, range_start=32, on_false_value=nl.fp32.min)
    nl.store(out, r)
    nl.store(red, res)
    return out, red


@pytest.mark.parametrize("seed", SEEDS)
def test_range_select_on_trn2(seed):
    x = normal(seed, (P, F))
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 200, (P, 1)).astype(np.float32)
    hi = lo + rng.integers(1, 300, (P, 1)).astype(np.float32)
    (out, red), trace = run(k_range_select, x, lo, hi, target="trn2")
    idx = 32 + np.arange(F)[None, :]
    ref = np.where((idx >= lo) & (idx < hi), x, np.finfo(np.float32).min)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(red[:, 0], ref.max(axis=1))
    assert ops(trace)[3] == ("SELECT", "dve")


def test_range_select_needs_trn2():
    args = (np.zeros((P, 8), np.float32), np.zeros((P, 1), np.float32), np.ones((P, 1), np.float32))
    assert error_code(k_range_select, *args) == "err_unsupported_operation"


# ---------------------------------------------------------------- random numbers


def k_dropout(x, prob):
    out = nl.ndarray(x.shape, F32, buffer=HBM)
    out0 = nl.ndarray(x.shape, F32, buffer=HBM)
    out1 = nl.ndarray(x.shape, F32, buffer=HBM)
    t = nl.load(x)
    nl.store(out, nisa.dropout(t, prob=nl.load(prob)))
    nl.store(out0, nisa.dropout(t, prob=0.0))
    nl.store(out1, nisa.dropout(t, prob=1.0))
    return out, out0, out1


@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_rates(seed):
    x = np.abs(normal(seed, (P, F))) + 1
    prob = np.random.default_rng(seed).random((P, 1)).astype(np.float32)
    (out, keep_all, drop_all), trace = run(k_dropout, x, prob)
    assert ((out == x) | (out == 0)).all()
    dropped = (out == 0).mean()
    assert abs(dropped - prob.mean()) < 0.02
    np.testing.assert_array_equal(keep_all, x)
    np.testing.assert_array_equal(drop_all, 0)
    assert ops(trace).count(("RNG", "dve")) == 3


def k_dropout_bad_prob(x):
    nisa.dropout(nl.load(x), prob=1.5)
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_dropout_rejects_probability_above_one():
    assert error_code(k_dropout_bad_prob, np.zeros((P, 4), np.float32)) == "err_invalid_argument"


# ---------------------------------------------------------------- partition shuffles, DMA transpose, dynamic copies


def k_shuffle(x, shuffle):
    out = nl.ndarray(x.shape, F32, buffer=HBM)
    a = nl.load(x)
    nisa.nc_stream_shuffle(src=a, dst=a, shuffle_mask=shuffle)
    nl.store(out, a)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_nc_stream_shuffle_per_quadrant_with_keep(seed):
    x = normal(seed, (64, 128))
    shuffle = [(i + 3) % 32 for i in range(32)]
    shuffle[5] = 255
    out, trace = run(k_shuffle, x, shuffle)
    rows = np.array([(q * 32 + shuffle[i]) if shuffle[i] != 255 else q * 32 + i for q in range(2) for i in range(32)])
    np.testing.assert_array_equal(out, x[rows])
    assert ("SHUFFLE", "dve") in ops(trace)


def k_shuffle_misaligned(x):
    a = nl.load(x)
    nisa.nc_stream_shuffle(src=a[16:48, :], dst=a[16:48, :], shuffle_mask=list(range(32)))
    return nl.ndarray((1, 1), F32, buffer=HBM)


def test_nc_stream_shuffle_start_partition_rule():
    assert error_code(k_shuffle_misaligned, np.zeros((64, 8), np.float32)) == "err_partition_start_misaligned"


def k_dma_transpose(x):
    out = nl.ndarray(x.shape[::-1], x.dtype, buffer=HBM)
    nl.store(out, nisa.dma_transpose(x))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_dma_transpose_2d_and_3d_on_trn2(seed):
    x2 = normal(seed, (64, 128), nl.bfloat16)
    out, trace = run(k_dma_transpose, x2, target="trn2")
    np.testing.assert_array_equal(out, x2.T)
    dma = [i for i in trace.instructions if i.opcode == "DMA"]
    assert dma[0].attrs["transpose"] and not dma[1].attrs["transpose"]
    x3 = normal(seed, (4, 8, 16))
    out, _ = run(k_dma_transpose, x3, target="trn2")
    np.testing.assert_array_equal(out, x3.transpose(2, 1, 0))


def test_legacy_dma_transpose_also_runs_on_trn1():
    # The legacy reference lists trn1 (only hardware DGE needs trn2): tests/nki/test_aws_example_behaviours.py
    x = normal(0, (8, 16))
    out, _ = run(k_dma_transpose, x, target="trn1")
    np.testing.assert_array_equal(out, x.T)


def k_dynamic(x):
    out = nl.ndarray((P, 64), F32, buffer=HBM)
    t = nl.load(x)
    buf = nl.ndarray((P, 64), dtype=nl.float32)
    for i in nl.affine_range(64):
        buf[:, i:i + 1] = nisa.tensor_copy_dynamic_src(t[:, 2 * i:2 * i + 1])
    nl.store(out, buf)
    return out


def test_tensor_copy_dynamic_src_traces_dynamic_copies():
    x = normal(0, (P, F))
    out, trace = run(k_dynamic, x)
    np.testing.assert_array_equal(out, x[:, 0:128:2])
    assert ops(trace).count(("GATHER", "dve")) == 64
