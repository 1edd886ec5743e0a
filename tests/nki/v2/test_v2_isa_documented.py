"""The current dialect's ISA calls that the NKI docs list besides the common ones, against numpy: NeuronCore-v4's
exponential, activate2, rand2 and MX quantize/matmul, the Vector accumulators of tensor_scalar_cumulative and
tensor_scalar_reduce, nonzero_with_count, topk, the PRNG state, and the handle ISA calls return. Each kernel's
trace must be priced by the cost model without an unknown opcode."""

import ml_dtypes
import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from autocomp.perf import profile
from tests.fakes.v2_support import assert_close, f64, sample, target


def _load(src, dtype=None):
    t = nl.ndarray(src.shape, dtype=dtype or src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


def _out(t):
    o = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o


def _priced(kernel, target_name: str):
    """The last run's trace has a cost formula for every instruction."""
    p = profile(kernel.last_result.trace, target_name)
    assert p.unknown_opcodes == {}, p.unknown_opcodes
    assert p.latency_ns > 0
    return kernel.last_result.trace


@nki.jit
def exponential_sums(x, shift):
    xs = _load(x)
    e = nl.ndarray(x.shape, dtype=nl.float32)
    total = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    # reset_reduce, then a second call that adds on top of the accumulators (reduce)
    nisa.exponential(dst=e, src=xs, max_value=_load(shift), reduce_cmd=nisa.reduce_cmd.reset_reduce)
    e2 = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.exponential(e2, xs, 1.0, total, nisa.reduce_cmd.reduce)
    return _out(e), _out(e2), _out(total)


def test_exponential_accumulates_row_sums_on_trn3():
    rng = np.random.default_rng(1)
    x, shift = sample(rng, (128, 96)), sample(rng, (128, 1))
    with target("trn3"):
        e, e2, total = exponential_sums(x, shift)
        trace = _priced(exponential_sums, "trn3")
    ref, ref2 = np.exp(f64(x) - f64(shift)), np.exp(f64(x) - 1.0)
    assert_close(e, ref)
    assert_close(e2, ref2)
    assert_close(total, (ref + ref2).sum(axis=1, keepdims=True))
    assert [i.opcode for i in trace.instructions].count("EXPONENTIAL") == 2


def test_exponential_needs_neuroncore_v4():
    x = np.ones((128, 8), np.float32)
    with target("trn2"), pytest.raises(NkiError) as err:
        exponential_sums(x, x[:, :1])
    assert err.value.code == "err_unsupported_operation" and "NeuronCore-v4" in str(err.value)


@nki.jit
def activate2_prelu(x):
    xs = _load(x)
    y = nl.ndarray(x.shape, dtype=nl.float32)
    top = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.activate2(dst=y, op=nl.prelu, data=xs, imm0=2.0, imm1=0.5, op0=nl.multiply, op1=nl.subtract,
                   relu_param=0.25, reduce_op=nl.maximum, reduce_res=top, reduce_cmd=nisa.reduce_cmd.reset_reduce)
    g = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.activate2(g, nl.gelu_apprx_sigmoid, xs, 3.0, 0.0, nl.add, nl.bypass, reverse0=True)
    return _out(y), _out(top), _out(g)


def test_activate2_runs_scale_bias_activation_and_reduce():
    rng = np.random.default_rng(2)
    x = sample(rng, (128, 64))
    with target("trn3"):
        y, top, g = activate2_prelu(x)
        _priced(activate2_prelu, "trn3")
    z = 2.0 * f64(x) - 0.5
    ref = np.where(z >= 0, z, 0.25 * z)
    assert_close(y, ref)
    assert_close(top, ref.max(axis=1, keepdims=True))
    w = 3.0 + f64(x)
    assert_close(g, w / (1.0 + np.exp(-1.702 * w)), tol=1e-5)


@nki.jit
def activate2_bad_pair(x):
    y = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.activate2(y, nl.exp, _load(x), 1.0, 1.0, nl.add, nl.add)
    return _out(y)


def test_activate2_refuses_a_pair_the_engine_lacks():
    with target("trn3"), pytest.raises(NkiError) as err:
        activate2_bad_pair(np.ones((128, 4), np.float32))
    assert err.value.code == "err_unsupported_operation"


@nki.jit
def cumulative(x, start):
    xs = _load(x)
    run = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.tensor_scalar_cumulative(dst=run, src=xs, op0=nl.multiply, op1=nl.add, imm0=2.0)
    mx = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.tensor_scalar_cumulative(mx, xs, nl.add, nl.maximum, 0.0, _load(start),
                                  reduce_cmd=nisa.reduce_cmd.load_reduce)
    return _out(run), _out(mx)


def test_tensor_scalar_cumulative_is_a_running_reduction():
    rng = np.random.default_rng(3)
    x, start = sample(rng, (64, 40)), sample(rng, (64, 1))
    run, mx = cumulative(x, start)
    _priced(cumulative, "trn2")
    assert_close(run, np.cumsum(2.0 * f64(x), axis=1))
    ref = np.maximum.accumulate(np.concatenate([f64(start), f64(x)], axis=1), axis=1)[:, 1:]
    assert_close(mx, ref)


@nki.jit
def scalar_reduce_chain(x):
    xs = _load(x)
    d = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.tensor_scalar_reduce(dst=d, data=xs, op0=nl.multiply, operand0=2.0, reduce_op=nl.add)  # accumulators only
    res = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.tensor_scalar_reduce(d, xs, nl.add, 1.0, nl.add, res, reduce_cmd=nisa.reduce_cmd.reduce,
                              reduce_res_negate=True)
    return _out(res)


def test_tensor_scalar_reduce_keeps_results_in_the_accumulators():
    rng = np.random.default_rng(4)
    x = sample(rng, (32, 16))
    res = scalar_reduce_chain(x)
    assert_close(res, -((2.0 * f64(x)).sum(axis=1, keepdims=True) + (f64(x) + 1.0).sum(axis=1, keepdims=True)))


@nki.jit
def nonzero(x):
    found = nl.ndarray((x.shape[0], x.shape[1] + 1), dtype=nl.int32)
    nisa.memset(found, 7)
    nisa.nonzero_with_count(dst=found, src=_load(x), index_offset=16, padding_val=-1)
    return _out(found)


def test_nonzero_with_count_writes_one_partition_per_gpsimd_core():
    rng = np.random.default_rng(5)
    x = (rng.random((128, 12)) < 0.4).astype(np.float32)
    with target("trn2"):
        found = nonzero(x)
        _priced(nonzero, "trn2")
    for p in range(128):
        if p % 16:
            assert (found[p] == 7).all()  # other partitions untouched
            continue
        idx = np.flatnonzero(x[p])
        expect = np.full(13, -1)
        expect[:idx.size] = idx + 16
        expect[12] = idx.size
        np.testing.assert_array_equal(found[p], expect)


@nki.jit
def top_values(x, n):
    vals = nl.ndarray((x.shape[0], 24), dtype=nl.bfloat16)
    idx = nl.ndarray((x.shape[0], 24), dtype=nl.uint32)
    nisa.memset(vals, 0.0)
    nisa.memset(idx, 0)
    nisa.topk(val_dst=vals, idx_dst=idx, src=_load(x), n=n)
    return _out(vals), _out(idx)


def test_topk_reads_and_writes_the_sixteen_partition_snake():
    rng = np.random.default_rng(6)
    x = (rng.permutation(128) - 64).reshape(32, 4).astype(ml_dtypes.bfloat16)  # distinct, exact in bf16
    n = 50
    vals, idx = top_values(x, n)
    trace = _priced(top_values, "trn1")
    assert [i for i in trace.instructions if i.opcode == "TOPK"][0].attrs == {"n": n, "k": 24}
    for g in range(2):
        snake = f64(x[16 * g:16 * (g + 1)]).T.reshape(-1)[:n]
        order = np.argsort(snake)[-24:]  # the 24 largest, ascending
        j = np.arange(24)
        np.testing.assert_array_equal(idx[16 * g + j % 16, j // 16], order)
        np.testing.assert_array_equal(f64(vals[16 * g + j % 16, j // 16]), snake[order])


@nki.jit
def uniform(x):
    r = nl.ndarray(x.shape, dtype=nl.float32)
    nisa.rand2(r, -2.0, _load(x))
    return _out(r)


def test_rand2_draws_within_each_partitions_bounds():
    hi = np.linspace(-1.0, 5.0, 128, dtype=np.float32).reshape(128, 1)
    with target("trn3"):
        r = uniform(np.broadcast_to(hi, (128, 1)).copy())
        _priced(uniform, "trn3")
    assert r.shape == (128, 1)
    assert ((r >= -2.0) & (r <= hi)).all()


@nki.jit
def state_round_trip(seeds):
    s = _load(seeds)
    nisa.rand_set_state(src_seeds=s)
    got = nl.ndarray(seeds.shape, dtype=nl.uint32)
    nisa.rand_get_state(dst=got)
    a = nl.ndarray((seeds.shape[0], 8), dtype=nl.float32)
    nisa.rand2(a, 0.0, 1.0)
    nisa.rand_set_state(src_seeds=s)
    b = nl.ndarray((seeds.shape[0], 8), dtype=nl.float32)
    nisa.rand2(b, 0.0, 1.0)
    return _out(got), _out(a), _out(b)


def test_prng_state_reads_back_and_replays_the_sequence():
    seeds = np.arange(128 * 6, dtype=np.uint32).reshape(128, 6)
    with target("trn3"):
        got, a, b = state_round_trip(seeds)
        _priced(state_round_trip, "trn3")
    np.testing.assert_array_equal(got, seeds)
    np.testing.assert_array_equal(a, b)


@nki.jit
def mx_matmul(a, b):
    k, f_a = a.shape
    f_b = b.shape[1]
    aq = nl.ndarray((k, f_a // 4), dtype=nl.float8_e4m3fn_x4)
    bq = nl.ndarray((k, f_b // 4), dtype=nl.float8_e5m2_x4)
    a_scale = nl.ndarray((k, f_a // 4), dtype=nl.float8_e8m0fnu)
    b_scale = nl.ndarray((k, f_b // 4), dtype=nl.uint8)
    nisa.quantize_mx(dst=aq, src=_load(a), dst_scale=a_scale)
    nisa.quantize_mx(dst=bq, src=_load(b), dst_scale=b_scale)
    acc = nl.ndarray((f_a // 4, f_b // 4), dtype=nl.float32, buffer=nl.psum)
    nisa.nc_matmul_mx(acc, aq, bq, a_scale, b_scale)
    nisa.nc_matmul_mx(acc, aq, bq, a_scale, b_scale)  # accumulate=None adds onto what a matmul wrote
    r = nl.ndarray(acc.shape, dtype=nl.float32)
    nisa.tensor_copy(dst=r, src=acc)
    return _out(r), _out(aq), _out(a_scale)


def test_mx_quantize_and_matmul_match_the_documented_scales():
    rng = np.random.default_rng(7)
    k, m, n = 64, 32, 48
    a = sample(rng, (k, 4 * m), ml_dtypes.bfloat16)
    b = sample(rng, (k, 4 * n), ml_dtypes.bfloat16)
    with target("trn3"):
        r, aq, a_scale = mx_matmul(a, b)
        trace = _priced(mx_matmul, "trn3")
    # Group (8 partitions x one x4 element) scale: 2^(floor(log2 amax) - (8 - 1)) for float8_e4m3fn.
    groups = np.abs(f64(a)).reshape(k // 8, 8, m, 4).max(axis=(1, 3))
    exps = np.floor(np.log2(groups)) - 7
    rows = [(g // 4) * 32 + g % 4 for g in range(k // 8)]  # each quadrant keeps its groups' scales
    np.testing.assert_array_equal(a_scale[rows].view(np.uint8).astype(np.int64), exps + 127)
    deq = aq.view(np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64).reshape(k, m, 4)
    scale = np.repeat(np.exp2(exps), 8, axis=0)[:, :, None]
    assert np.abs(deq * scale - f64(a).reshape(k, m, 4)).max() <= np.abs(f64(a)).max() * 2 ** -3
    ref = np.einsum("kiq,kjq->ij", f64(a).reshape(k, m, 4), f64(b).reshape(k, n, 4))
    assert_close(r, 2 * ref, tol=0.12)
    mms = [i for i in trace.instructions if i.opcode == "MATMUL"]
    assert [i.attrs["perf_mode"] for i in mms] == ["mx", "mx"]
    assert [i.attrs["accumulate"] for i in mms] == [False, True]


def test_mx_calls_need_neuroncore_v4():
    a = np.ones((32, 16), ml_dtypes.bfloat16)
    with target("trn2"), pytest.raises(NkiError) as err:
        mx_matmul(a, a)
    assert err.value.code == "err_unsupported_operation"


@nki.jit
def ordered(x):
    t = _load(x)
    u = nl.ndarray(x.shape, dtype=x.dtype)
    first = nisa.tensor_copy(dst=u, src=t)
    v = nl.ndarray(x.shape, dtype=x.dtype)
    second = nisa.memset(v, 0.0).depends_on(first)
    assert isinstance(second, nisa.NkiInstruction)
    return _out(u)


def test_isa_calls_return_handles_whose_dependencies_the_schedule_honours():
    ordered(np.ones((128, 512), np.float32))
    trace = ordered.last_result.trace
    copy, memset = (next(i for i in trace.instructions if i.opcode == op) for op in ("TENSOR_COPY", "MEMSET"))
    assert memset.attrs["after"] == (copy.seq,)
    from autocomp.perf.scheduler import schedule
    from autocomp.perf.targets import get_target

    sched = schedule(trace, get_target("trn1"))
    assert sched.start[memset.seq] >= sched.end[copy.seq]  # without the edge the two engines would overlap
