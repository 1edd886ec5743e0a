"""Each NKI compile-time error (docs/nki-semantics.md#errors-and-warnings, legacy dialect) from a small kernel.

Every test checks the compiler's ``err_*`` code, the kernel line the error points
at (marked ``# <-`` in the kernel) and the Python base class the real toolchain raises.
"""

import inspect

import ml_dtypes
import numpy as np
import pytest

import autocomp.nki
from autocomp.nki.errors import NkiError

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402
import neuronxcc.nki.typing as nt  # noqa: E402

F32 = np.zeros((128, 512), np.float32)
BF16 = np.zeros((128, 512), ml_dtypes.bfloat16)


def marked_line(kernel) -> int:
    """The line of ``kernel`` marked with ``# <-``: where the error must point."""
    fn = getattr(kernel, "func", kernel)
    lines, first = inspect.getsourcelines(fn)
    hits = [first + i for i, text in enumerate(lines) if "# <-" in text]
    assert len(hits) == 1, f"mark exactly one line of {fn.__name__}"
    return hits[0]


def def_line(kernel) -> int:
    fn = getattr(kernel, "func", kernel)
    lines, first = inspect.getsourcelines(fn)
    return next(first + i for i, text in enumerate(lines) if text.lstrip().startswith("def "))


def raises(code: str, base: type, kernel, *args, line: int | None = None, grid=None) -> NkiError:
    launch = kernel[grid] if grid else kernel
    with pytest.raises(NkiError) as info:
        launch(*args)
    err = info.value
    assert err.code == code, str(err)
    assert isinstance(err, base), f"{type(err).__mro__} is not a {base.__name__}"
    assert err.location == (__file__, line if line is not None else marked_line(kernel)), str(err)
    assert code in str(err) and f":{err.location[1]}:" in str(err)  # the message names code, file and line
    return err


# ---------------------------------------------------------------- tile sizes


@nki.jit
def k_partitions_over_128(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.ndarray((256, 64), dtype=nl.float32, buffer=nl.sbuf)  # <-
    nl.store(out, value=t)
    return out


@nki.jit
def k_stationary_over_128(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    st = nl.load(a[0:128, 0:256])
    mv = nl.load(b[0:128, 0:512])
    acc = nisa.nc_matmul(st, mv)  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_moving_over_512(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    st = nl.load(a[0:128, 0:128])
    mv = nl.load(b)
    acc = nisa.nc_matmul(st, mv)  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_pe_transpose_over_128(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a[0:128, 0:256])
    tT = nisa.nc_transpose(t)  # <-
    nl.store(out[0:256, 0:128], value=tT)
    return out


@nki.jit
def k_nl_transpose_over_128(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a)
    tT = nl.transpose(t)  # <-
    nl.store(out, value=tT)
    return out


@nki.jit
def k_transpose_3d(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.zeros((64, 32, 2), dtype=nl.float32, buffer=nl.sbuf)
    tT = nl.transpose(t)  # <-
    nl.store(out, value=tT)
    return out


@nki.jit
def k_psum_tile_over_a_bank(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((128, 1024), nl.float32, buffer=nl.psum)  # <-
    nl.store(out, value=acc[:, 0:512])
    return out


@nki.jit
def k_bn_stats_over_512(a):
    out = nl.ndarray((128, 6), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a)
    stats = nisa.bn_stats(t)  # <-
    nl.store(out, value=stats)
    return out


@nki.jit
def k_sbuf_free_size_over_64k(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    big = nl.ndarray((128, 65537), dtype=nl.bfloat16, buffer=nl.sbuf)  # <-
    nl.store(out, value=big[:, 0:512])
    return out


def test_partition_dimension_over_128():
    raises("err_num_partition_exceed_arch_limit", SyntaxError, k_partitions_over_128, F32)


def test_matmul_stationary_free_size_over_128():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_stationary_over_128,
           np.zeros((128, 256), np.float32), F32)


def test_matmul_moving_free_size_over_512():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_moving_over_512,
           F32, np.zeros((128, 1024), np.float32))


def test_tensor_engine_transpose_over_128():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_pe_transpose_over_128,
           np.zeros((128, 256), np.float32))


def test_nl_transpose_over_128():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_nl_transpose_over_128, F32)


def test_nl_transpose_of_3d_tile():
    raises("err_exceed_max_supported_dimension", SyntaxError, k_transpose_3d, F32)


def test_bn_stats_free_size_over_512():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_bn_stats_over_512,
           np.zeros((128, 1024), np.float32))


def test_sbuf_tile_free_size_over_64k_elements():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_sbuf_free_size_over_64k, F32)


def test_psum_tile_larger_than_one_bank():
    raises("err_size_of_dimension_exceed_arch_limit", SyntaxError, k_psum_tile_over_a_bank, F32)


# ---------------------------------------------------------------- partitions and memories


@nki.jit
def k_isa_partition_mismatch(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.load(a)
    y = nl.load(b[0:1, :])
    z = nisa.tensor_tensor(x, y, op=nl.add)  # <-
    nl.store(out, value=z)
    return out


@nki.jit
def k_operator_partition_broadcast(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.load(a)
    y = nl.load(b[0:1, :])
    z = x + y  # <-
    nl.store(out, value=z)
    return out


@nki.jit
def k_matmul_from_hbm(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    mv = nl.load(b)
    acc = nisa.nc_matmul(a[0:128, 0:128], mv)  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_load_from_sbuf(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.zeros((128, 512), dtype=nl.float32, buffer=nl.sbuf)
    u = nl.load(t)  # <-
    nl.store(out, value=u)
    return out


@nki.jit
def k_compute_on_hbm(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    e = nl.exp(a)  # <-
    nl.store(out, value=e)
    return out


@nki.jit
def k_gpsimd_reads_psum(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nisa.nc_matmul(nl.load(a[0:128, 0:128]), nl.load(b))
    c = nisa.tensor_copy(acc, engine=nisa.gpsimd_engine)  # <-
    nl.store(out, value=c)
    return out


@nki.jit
def k_tensor_tensor_both_psum(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    st, mv = nl.load(a[0:128, 0:128]), nl.load(b)
    p1 = nisa.nc_matmul(st, mv)
    p2 = nisa.nc_matmul(st, mv)
    s = nisa.tensor_tensor(p1, p2, op=nl.add)  # <-
    nl.store(out, value=s)
    return out


@nki.jit
def k_scan_both_psum(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    st, mv = nl.load(a[0:128, 0:128]), nl.load(b)
    p1 = nisa.nc_matmul(st, mv)
    p2 = nisa.nc_matmul(st, mv)
    s = nisa.tensor_tensor_scan(p1, p2, initial=0.0, op0=nl.multiply, op1=nl.add)  # <-
    nl.store(out, value=s)
    return out


def test_isa_operands_with_different_partitions():
    raises("err_num_partition_mismatch", SyntaxError, k_isa_partition_mismatch, F32, F32)


def test_python_operators_do_not_broadcast_partitions():
    raises("err_num_partition_mismatch", SyntaxError, k_operator_partition_broadcast, F32, F32)


def test_matmul_operand_in_hbm():
    raises("err_unsupported_memory", TypeError, k_matmul_from_hbm, F32, F32)


def test_load_from_sbuf():
    raises("err_unsupported_memory", TypeError, k_load_from_sbuf, F32)


def test_compute_reading_hbm():
    raises("err_unsupported_memory", TypeError, k_compute_on_hbm, F32)


def test_gpsimd_cannot_touch_psum():
    raises("err_unsupported_memory", TypeError, k_gpsimd_reads_psum, F32, F32)


def test_tensor_tensor_inputs_both_in_psum():
    raises("err_unsupported_memory", TypeError, k_tensor_tensor_both_psum, F32, F32)


def test_scan_inputs_both_in_psum():
    raises("err_unsupported_memory", TypeError, k_scan_both_psum, F32, F32)


# ---------------------------------------------------------------- dtypes


@nki.jit
def k_matmul_fp32_with_bf16(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nisa.nc_matmul(nl.load(a[0:128, 0:128]), nl.load(b))  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_matmul_into_bf16_psum(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((128, 512), nl.bfloat16, buffer=nl.psum)
    acc += nisa.nc_matmul(nl.load(a[0:128, 0:128]), nl.load(b))  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_matmul_assigned_to_bf16_psum(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((128, 512), nl.bfloat16, buffer=nl.psum)
    acc[...] = nisa.nc_matmul(nl.load(a[0:128, 0:128]), nl.load(b))  # <-
    nl.store(out, value=acc)
    return out


@nki.jit
def k_activation_int_bias(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    bias = nisa.memset((128, 1), 1, dtype=nl.int8)
    e = nisa.activation(op=nl.exp, data=nl.load(a), bias=bias)  # <-
    nl.store(out, value=e)
    return out


@nki.jit
def k_activation_fp16_scale(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    scale = nisa.memset((128, 1), 1.5, dtype=nl.float16)
    e = nisa.activation(op=nl.exp, data=nl.load(a), scale=scale)  # <-
    nl.store(out, value=e)
    return out


@nki.jit
def k_bitwise_on_floats(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a)
    r = nisa.tensor_tensor(t, t, op=nl.bitwise_and)  # <-
    nl.store(out, value=r)
    return out


@nki.jit
def k_activation_scale_row(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    scale = nisa.memset((128, 128), 1.5, dtype=nl.float32)
    e = nisa.activation(op=nl.exp, data=nl.load(a), scale=scale)  # <-
    nl.store(out, value=e)
    return out


def test_bitwise_operator_on_float_tiles():
    raises("err_unsupported_dtype", TypeError, k_bitwise_on_floats, F32)


def test_activation_scale_neither_scalar_nor_column():
    raises("err_activation_scale_scalar_or_vector", TypeError, k_activation_scale_row, F32)


def test_matmul_mixing_fp32_and_bf16():
    raises("err_unsupported_dtype", TypeError, k_matmul_fp32_with_bf16, F32, BF16)


@pytest.mark.parametrize("kernel", [k_matmul_into_bf16_psum, k_matmul_assigned_to_bf16_psum],
                         ids=["accumulate", "assign"])
def test_matmul_result_in_bf16_psum(kernel):
    raises("err_unsupported_dtype", TypeError, kernel, F32, F32)


def test_activation_bias_of_integer_type():
    raises("err_activation_bias_invalid_type", TypeError, k_activation_int_bias, F32)


def test_activation_scale_not_fp32():
    raises("err_activation_scale_invalid_type", TypeError, k_activation_fp16_scale, F32)


# ---------------------------------------------------------------- indexing and masks


@nki.jit
def k_1d_arange(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.zeros((128, 1), dtype=nl.float32, buffer=nl.sbuf)
    i = nl.arange(64)
    e = nl.exp(t[i, 0])  # <-
    nl.store(out[0:64, 0:1], value=e)
    return out


@nki.jit
def k_mixed_indexing(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a)
    i = nl.arange(128)[:, None]
    e = nl.exp(t[i, :])  # <-
    nl.store(out, value=e)
    return out


@nki.jit
def k_static_out_of_bounds(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a[0:128, 256:768])  # <-
    nl.store(out, value=t)
    return out


@nki.jit
def k_arange_out_of_bounds(a):
    out = nl.ndarray((128, 4000), dtype=nl.float32, buffer=nl.shared_hbm)
    for i in nl.affine_range(8):
        tile = nl.mgrid[0:128, 0:512]
        nl.store(out[tile.p, i * 512 + tile.x], value=0.0)  # <-
    return out


@nki.jit
@nki.jit
def k_mask_with_modulo(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(512)[None, :]
    t = nl.load(a[i_p, i_f], mask=(i_f % 2 == 0))  # <-
    nl.store(out[i_p, i_f], value=t)
    return out


@nki.jit
def k_mask_non_affine(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(512)[None, :]
    t = nl.load(a[i_p, i_f], mask=(i_p * i_f < 1000))  # <-
    nl.store(out[i_p, i_f], value=t)
    return out


@nki.jit
def k_if_on_arange(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    for j0 in nl.affine_range(2):
        j = j0 * 256 + nl.arange(256)[None, :]
        if j > 300:  # <-
            nl.store(out[0:1, 0:256], value=0.0)
    return out


@nki.jit
def k_if_on_tile_value(a):
    out = nl.ndarray((1, 1), dtype=nl.float32, buffer=nl.shared_hbm)
    cond = nl.load(a[0:1, 0:1])
    if cond:  # <-
        nl.store(out, value=cond)
    return out


@nki.jit
def k_not_on_tile(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a)
    flipped = not (t > 0)  # <-
    nl.store(out, value=flipped)
    return out


@nki.jit
def k_assign_into_index(a):
    out = nl.ndarray((1, 8), dtype=nl.float32, buffer=nl.shared_hbm)
    _, x = nl.mgrid[0:1, 0:8]
    x[0, 5] = 1024  # <-
    nl.store(out, value=nisa.iota(x, dtype=nl.float32))
    return out


@nki.jit
def k_store_into_smaller(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.load(a)
    y = nl.zeros((128, 1), dtype=nl.float32, buffer=nl.sbuf)
    y[...] = x  # <-
    nl.store(out[:, 0:1], value=y)
    return out


@nki.jit
def k_tile_without_partition_first(a):
    out = nl.ndarray((8, 8), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.zeros((4, nl.par_dim(8), 8), dtype=nl.float32, buffer=nl.sbuf)
    c = nl.add(t, 32.0)  # <-
    nl.store(out, value=c[0])
    return out


def test_1d_arange_index():
    raises("err_1d_arange_not_supported", SyntaxError, k_1d_arange, F32)


def test_mixing_basic_and_advanced_indexing():
    raises("err_unsupported_mixing_basic_advanced_tensor_indexing", SyntaxError, k_mixed_indexing, F32)


def test_static_slice_out_of_bounds():
    raises("err_tensor_access_out_of_bound", IndexError, k_static_out_of_bounds, F32)


def test_arange_index_out_of_bounds_without_mask():
    raises("err_tensor_access_out_of_bound", IndexError, k_arange_out_of_bounds, F32)


# `and` between mask conditions is accepted with a warning: tests/nki/test_aws_example_behaviours.py
@pytest.mark.parametrize("kernel", [k_mask_with_modulo, k_mask_non_affine], ids=["modulo", "product_of_aranges"])
def test_unsupported_mask_expression(kernel):
    raises("err_unsupported_expression_in_mask", SyntaxError, kernel, F32)


def test_if_on_arange():
    raises("err_control_flow_condition_depending_on_arange", SyntaxError, k_if_on_arange, F32)


def test_if_on_tile_value():
    raises("err_dynamic_control_flow_not_supported", SyntaxError, k_if_on_tile_value, F32)


def test_not_on_multi_element_tile():
    raises("err_ambiguous_tensor_truth_value", ValueError, k_not_on_tile, F32)


def test_assign_into_index_expression():
    raises("err_cannot_assign_to_index", SyntaxError, k_assign_into_index, F32)


def test_assignment_destination_smaller_than_value():
    raises("err_store_dst_shape_smaller_than_other_shape", SyntaxError, k_store_into_smaller, F32)


def test_compute_on_tensor_with_block_dimension_first():
    raises("err_failed_to_infer_tile_from_local_tensor", SyntaxError, k_tile_without_partition_first, F32)


# ---------------------------------------------------------------- kernel structure


def _make_shared(shape):
    return nl.ndarray(shape, dtype=nl.float32, buffer=nl.shared_hbm)  # <-


@nki.jit
def k_shared_hbm_in_loop(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    for _ in nl.affine_range(2):
        scratch = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)  # <-
        nl.store(scratch, value=nl.load(a))
    nl.store(out, value=nl.load(a))
    return out


@nki.jit
def k_shared_hbm_in_helper(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    scratch = _make_shared((128, 512))
    nl.store(scratch, value=nl.load(a))
    nl.store(out, value=nl.load(a))
    return out


@nki.jit
def k_writes_immutable_input(a):
    x = nl.load(a)
    nl.store(a, value=nl.add(x, 1.0))  # <-
    return a


@nki.jit
def k_mutable_not_returned(a: nt.mutable_tensor):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    x = nl.load(a)
    nl.store(out, value=x)
    nl.store(a, value=nl.add(x, 1.0))
    return out


@nki.jit
def k_output_never_written(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    for _ in nl.affine_range(128 // 129):
        nl.store(out, value=nl.load(a))
    return out


@nki.jit
def k_child(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    nl.store(out, value=nl.load(a))
    return out


@nki.jit
def k_launches_grid_inside(a):
    return k_child[2, 2](a)  # <-


@nki.jit
def k_hbm_with_init_value(a):
    t = nl.full((128, 512), 1.0, dtype=nl.float32, buffer=nl.shared_hbm)  # <-
    return t


@nki.jit
def k_annotated(a: nt.tensor[[128, 512], nl.float32]):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    nl.store(out, value=nl.load(a))
    return out


@nki.jit
def k_affine_iterations_write_one_place(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    buf = nl.ndarray((4, nl.par_dim(128), 512), dtype=nl.float32, buffer=nl.sbuf)
    for _ in nl.affine_range(4):
        buf[0] = nl.load(a)  # <-
    nl.store(out, value=buf[0])
    return out


@nki.jit
def k_tile_used_after_its_loop(a):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    for _ in nl.affine_range(2):
        t = nl.load(a)
    nl.store(out, value=t)  # <-
    return out


def test_affine_range_iterations_writing_the_same_location():
    raises("err_unexpected_output_dependencies", SyntaxError, k_affine_iterations_write_one_place, F32)


def test_tile_used_outside_the_loop_that_created_it():
    raises("err_local_variable_used_out_of_scope", SyntaxError, k_tile_used_after_its_loop, F32)


def test_shared_hbm_created_inside_a_loop():
    raises("err_shared_hbm_must_in_kernel_level", SyntaxError, k_shared_hbm_in_loop, F32)


def test_shared_hbm_created_in_a_helper_function():
    raises("err_shared_hbm_must_in_kernel_level", SyntaxError, k_shared_hbm_in_helper, F32,
           line=marked_line(_make_shared))


def test_writing_an_immutable_parameter():
    raises("err_cannot_update_immutable_parameter", SyntaxError, k_writes_immutable_input, F32.copy())


def test_mutable_parameter_not_returned():
    raises("err_mutable_parameter_not_returned", SyntaxError, k_mutable_not_returned, F32.copy(),
           line=def_line(k_mutable_not_returned))


def test_output_never_written_by_a_zero_trip_loop():
    raises("err_tensor_output_not_written_to", SyntaxError, k_output_never_written, F32,
           line=def_line(k_output_never_written))


def test_grid_launch_inside_a_kernel():
    raises("err_nested_kernel_with_spmd_grid", SyntaxError, k_launches_grid_inside, F32)


def test_hbm_tensor_with_init_value():
    raises("err_hbm_tensor_with_init_value_not_supported", SyntaxError, k_hbm_with_init_value, F32)


def test_annotation_shape_mismatch():
    raises("err_annotation_shape_mismatch", SyntaxError, k_annotated, np.zeros((128, 256), np.float32),
           line=def_line(k_annotated))


def test_nki_api_outside_a_kernel():
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(NkiError) as info:
        nl.zeros((128, 512), dtype=nl.float32, buffer=nl.sbuf)
    assert info.value.code == "err_nki_api_outside_of_nki_kernel"
    assert isinstance(info.value, SyntaxError)
    assert info.value.location == (__file__, line)


def test_a_correct_kernel_raises_nothing():
    """Guards the fixtures: the shapes used above are otherwise valid."""
    out = k_child(F32 + 1.0)
    np.testing.assert_array_equal(out, F32 + 1.0)
