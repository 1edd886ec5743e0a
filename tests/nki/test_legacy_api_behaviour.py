"""neuronxcc.nki functions that only the signature check covered, run against numpy: the element-wise math and
comparison calls, reductions, creation calls, grid queries, loops, device_print, get_nc_version,
scalar_tensor_tensor, tensor_copy_dynamic_dst, the entry points, the compiler directives and allocators, and
nl.tile_size. References follow each call's API reference description; ``tests/fakes/api_coverage.py`` maps
every documented function to the test that exercises it."""

import json
import math

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import run_kernel
from tests.fakes.extra_ops_support import normal, run

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.compiler as ncc  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P, F = 128, 64
HBM = nl.shared_hbm
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


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
    (nl.tanh, np.tanh, (-3, 3)),
    (nl.trunc, np.trunc, (-3, 3)),
]

# (function, numpy reference, operand dtype, operand ranges)
BINARY = [
    (nl.subtract, np.subtract, np.float32, (-3, 3)),
    (nl.divide, np.divide, np.float32, (0.5, 3)),
    (nl.minimum, np.minimum, np.float32, (-3, 3)),
    (nl.power, np.power, np.float32, (0.5, 2)),
    (nl.mod, np.mod, np.float32, (0.5, 3)),
    (nl.equal, np.equal, np.int32, (0, 3)),
    (nl.not_equal, np.not_equal, np.int32, (0, 3)),
    (nl.greater_equal, np.greater_equal, np.int32, (0, 3)),
    (nl.less_equal, np.less_equal, np.int32, (0, 3)),
    (nl.logical_or, np.logical_or, np.int32, (0, 2)),
    (nl.logical_xor, np.logical_xor, np.int32, (0, 2)),
    (nl.bitwise_and, np.bitwise_and, np.int32, (0, 256)),
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
]


def _uniform(seed, lo, hi, dtype=np.float32, shape=(P, F)):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(lo, hi, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


def _name(entry):
    return entry[0].__name__


def _unary_kernel(fn):
    def kernel(x):
        out = nl.ndarray(x.shape, dtype=nl.float32, buffer=HBM)
        nl.store(out, fn(nl.load(x)))
        return out
    return kernel


@pytest.mark.parametrize("entry", UNARY, ids=_name)
def test_unary_math_matches_its_description(entry):
    fn, ref, (lo, hi) = entry
    x = _uniform(0, lo, hi)
    out, _ = run(_unary_kernel(fn), x)
    np.testing.assert_allclose(out, ref(x.astype(np.float64)), rtol=2e-5, atol=2e-5)


def _binary_kernel(fn, dtype):
    def kernel(x, y):
        out = nl.ndarray(x.shape, dtype=dtype, buffer=HBM)
        nl.store(out, fn(nl.load(x), nl.load(y), dtype=dtype))
        return out
    return kernel


@pytest.mark.parametrize("entry", BINARY, ids=_name)
def test_binary_ops_match_their_description(entry, recwarn):
    fn, ref, dtype, (lo, hi) = entry
    x, y = _uniform(1, lo, hi, dtype), _uniform(2, lo, hi, dtype)
    out, _ = run(_binary_kernel(fn, dtype), x, y)
    np.testing.assert_allclose(out, ref(x.astype(np.float64) if dtype == np.float32 else x, y).astype(dtype),
                               rtol=2e-5, atol=2e-5)


def k_bool_ops(x):
    out = nl.ndarray(x.shape, dtype=nl.int32, buffer=HBM)
    inv = nl.ndarray(x.shape, dtype=nl.int32, buffer=HBM)
    t = nl.load(x)
    nl.store(out, nl.logical_not(t, dtype=nl.int32))
    nl.store(inv, nl.invert(t, dtype=nl.int32))
    return out, inv


def test_logical_not_and_invert():
    x = _uniform(3, -4, 4, np.int32)
    (out, inv), _ = run(k_bool_ops, x)
    np.testing.assert_array_equal(out, (x == 0).astype(np.int32))
    np.testing.assert_array_equal(inv, np.invert(x))


def _reduce_kernel(fn):
    def kernel(x):
        out = nl.ndarray((x.shape[0], 1), dtype=nl.float32, buffer=HBM)
        nl.store(out, fn(nl.load(x), axis=1, keepdims=True))
        return out
    return kernel


@pytest.mark.parametrize("entry", REDUCTIONS, ids=_name)
def test_reductions_along_the_free_axis(entry):
    fn, ref = entry
    x = _uniform(4, 0.8, 1.2)
    out, _ = run(_reduce_kernel(fn), x)
    np.testing.assert_allclose(out, ref(x.astype(np.float64), axis=1, keepdims=True), rtol=1e-5)


def k_all(x):
    out = nl.ndarray((x.shape[0], 1), dtype=nl.uint8, buffer=HBM)
    nl.store(out, nl.all(nl.load(x), axis=1, dtype=nl.uint8))
    return out


def test_all_is_true_where_every_element_is_nonzero():
    x = np.ones((P, F), np.int32)
    x[::3, 5] = 0
    out, _ = run(k_all, x)
    np.testing.assert_array_equal(out.reshape(P), np.all(x != 0, axis=1).astype(np.uint8))


def k_creation(x):
    a = nl.load(x)
    ones = nl.ones((P, F), dtype=nl.float32)
    zl = nl.zeros_like(a)
    el = nl.empty_like(a)
    el[...] = nl.add(a, 2.0)
    outs = []
    for t in (ones, zl, el):
        o = nl.ndarray((P, F), dtype=nl.float32, buffer=HBM)
        nl.store(o, t)
        outs.append(o)
    return tuple(outs)


def test_ones_zeros_like_and_empty_like():
    x = normal(5, (P, F))
    (ones, zl, el), _ = run(k_creation, x)
    np.testing.assert_array_equal(ones, np.ones((P, F), np.float32))
    np.testing.assert_array_equal(zl, np.zeros((P, F), np.float32))
    np.testing.assert_allclose(el, x + 2.0, rtol=1e-6)


CONSTANT = np.arange(P * 8, dtype=np.float32).reshape(P, 8)


def k_shared_constant(x):
    out = nl.ndarray((P, 8), dtype=nl.float32, buffer=HBM)
    c = nl.shared_constant(CONSTANT, dtype=nl.float32)
    nl.store(out, nl.add(nl.load(c), nl.load(x)))
    return out


def test_shared_constant_is_an_hbm_tensor_of_the_given_values():
    x = normal(6, (P, 8))
    out, _ = run(k_shared_constant, x)
    np.testing.assert_allclose(out, CONSTANT + x, rtol=1e-6)


def k_load_transpose(x):
    out = nl.ndarray((x.shape[1], x.shape[0]), dtype=x.dtype, buffer=HBM)
    nl.store(out, nl.load_transpose2d(x))
    return out


def test_load_transpose2d_swaps_partition_and_free():
    x = normal(7, (64, 128))
    out, _ = run(k_load_transpose, x)
    np.testing.assert_array_equal(out, x.T)


def k_grid(x):
    out = nl.ndarray((nl.num_programs(0), nl.num_programs(1), 1, 3), dtype=nl.int32, buffer=HBM)
    i, j = nl.program_id(0), nl.program_id(1)
    row = nl.zeros((1, 3), dtype=nl.int32)
    row[0, 0] = nl.add(row[0, 0], nl.num_programs())  # all axes: the total number of instances
    row[0, 1] = nl.add(row[0, 1], nl.program_ndim())
    row[0, 2] = nl.add(row[0, 2], i * 10 + j)
    nl.store(out[i, j], row)
    return out


def test_num_programs_and_program_ndim_describe_the_grid():
    out, _ = run(k_grid, np.zeros((1, 1), np.float32), grid=(2, 3))
    assert out.shape == (2, 3, 1, 3)
    np.testing.assert_array_equal(out[..., 0], np.full((2, 3, 1), 6))
    np.testing.assert_array_equal(out[..., 1], np.full((2, 3, 1), 2))
    np.testing.assert_array_equal(out[:, :, 0, 2], np.arange(2)[:, None] * 10 + np.arange(3)[None, :])


def k_loops(x):
    out = nl.ndarray((P, F), dtype=nl.float32, buffer=HBM)
    acc = nl.zeros((P, F), dtype=nl.float32)
    for i in nl.sequential_range(3):
        acc[...] = nl.add(acc, nl.multiply(nl.load(x), float(i + 1)))
    for _ in nl.static_range(2):
        acc[...] = nl.add(acc, 1.0)
    nl.store(out, acc)
    return out


def test_sequential_and_static_range_run_every_iteration_in_order():
    x = normal(8, (P, F))
    out, trace = run(k_loops, x)
    np.testing.assert_allclose(out, 6 * x + 2, rtol=1e-5, atol=1e-5)
    assert {f.kind for f in trace.loops} >= {"sequential", "static"}


def k_print(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    t = nl.load(x)
    nl.device_print("value:", t)
    nl.store(out, t)
    return out


def test_device_print_prints_the_tile(capsys):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    out, _ = run(k_print, x)
    printed = capsys.readouterr().out
    assert "value:" in printed
    np.testing.assert_array_equal(np.array([float(v) for v in printed.replace("[", " ").replace("]", " ")
                                            .split("value:")[1].split()]).reshape(2, 4), x)
    np.testing.assert_array_equal(out, x)


VERSIONS = []


def k_version(x):
    VERSIONS.append(nisa.get_nc_version())
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(out, nl.load(x))
    return out


@pytest.mark.parametrize("target, gen", [("trn1", 2), ("trn2", 3), ("trn3", 4)])
def test_get_nc_version_names_the_target_generation(target, gen):
    VERSIONS.clear()
    run_kernel(k_version, (np.zeros((1, 1), np.float32),), target=target)
    assert [int(v) for v in VERSIONS] == [gen]
    assert VERSIONS[0] == getattr(nisa.nc_version, f"gen{gen}")


def k_stt(x, y):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(out, nisa.scalar_tensor_tensor(data=nl.load(x), op0=nl.multiply, operand0=3.0, op1=nl.subtract,
                                            operand1=nl.load(y)))
    r = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(r, nisa.scalar_tensor_tensor(data=nl.load(x), op0=nl.subtract, operand0=1.0, op1=nl.subtract,
                                          operand1=nl.load(y), reverse0=True, reverse1=True))
    return out, r


def test_scalar_tensor_tensor_applies_both_ops_in_order():
    x, y = normal(9, (P, F)), normal(10, (P, F))
    (out, r), _ = run(k_stt, x, y)
    np.testing.assert_allclose(out, x * 3.0 - y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r, y - (1.0 - x), rtol=1e-5, atol=1e-6)


def k_copy_dynamic_dst(x):
    out = nl.ndarray((P, 4 * F), dtype=x.dtype, buffer=HBM)
    dst = nl.zeros((P, 4 * F), dtype=x.dtype)
    for i in nl.affine_range(2):  # the destination offset is the loop variable: known only on the device
        nisa.tensor_copy_dynamic_dst(dst=dst[0:P, nl.ds((2 * i + 1) * F, F)], src=nl.load(x[:, nl.ds(i * F, F)]))
    nl.store(out, dst)
    return out


def test_tensor_copy_dynamic_dst_writes_at_a_runtime_offset():
    x = normal(11, (P, 2 * F))
    out, _ = run(k_copy_dynamic_dst, x)
    ref = np.zeros((P, 4 * F), np.float32)
    ref[:, F:2 * F], ref[:, 3 * F:4 * F] = x[:, :F], x[:, F:]
    np.testing.assert_array_equal(out, ref)


def k_double(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(out, nl.multiply(nl.load(x), 2.0))
    return out


def test_simulate_kernel_and_baremetal_return_the_outputs():
    x = normal(12, (P, F))
    np.testing.assert_allclose(nki.simulate_kernel(k_double, x), 2 * x, rtol=1e-6)
    np.testing.assert_allclose(nki.baremetal(k_double)(x), 2 * x, rtol=1e-6)


def test_benchmark_and_profile_report_a_latency(tmp_path):
    x = normal(13, (P, F))
    bench = nki.benchmark(warmup=1, iters=2)(k_double)
    np.testing.assert_allclose(bench(x), 2 * x, rtol=1e-6)
    assert bench.benchmark_result.nc_latency.get_latency_percentile(50) > 0
    prof = nki.profile(k_double, working_directory=str(tmp_path), save_trace_name="double.ntff")
    np.testing.assert_allclose(prof(x), 2 * x, rtol=1e-6)
    summary = json.loads((tmp_path / "double.summary.json").read_text())
    assert summary and len(prof.last_result.trace.instructions) >= 3


@ncc.skip_middle_end_transformations
@ncc.force_auto_alloc
@ncc.enable_stack_allocator
def k_directives(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    s = nl.ndarray(x.shape, dtype=x.dtype, buffer=ncc.sbuf.auto_alloc())
    s[...] = nl.load(x)
    ps = nl.ndarray(x.shape, dtype=nl.float32, buffer=ncc.psum.auto_alloc())
    ps[...] = nisa.nc_matmul(s, s)  # stationary.T @ moving
    nl.store(out, nl.add(s, nl.copy(ps)))
    return out


def test_compiler_directives_and_auto_allocators_keep_the_numbers():
    x = normal(14, (P, P)) * 0.1
    out, _ = run(k_directives, x)
    np.testing.assert_allclose(out, x + x.T.astype(np.float64) @ x, rtol=1e-4, atol=1e-4)


TILE = []


def k_tile_size(x):
    TILE.append((nl.tile_size.pmax, nl.tile_size.psum_fmax, nl.tile_size.gemm_stationary_fmax,
                 nl.tile_size.gemm_moving_fmax, nl.tile_size.bn_stats_fmax, nl.tile_size.total_available_sbuf_size,
                 nl.tile_size.psum_min_align, nl.tile_size.sbuf_min_align, nl.fp32.min))
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(out, nl.load(x))
    return out


@pytest.mark.parametrize("target, sbuf_kib", [("trn1", 176), ("trn2", 208), ("trn3", 240)])
def test_tile_size_gives_the_targets_limits(target, sbuf_kib):
    TILE.clear()
    run_kernel(k_tile_size, (np.zeros((1, 1), np.float32),), target=target)
    assert TILE == [(128, 512, 128, 512, 512, sbuf_kib * 1024, 4, 1, float(np.finfo(np.float32).min))]
