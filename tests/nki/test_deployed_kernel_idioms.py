"""Idioms of deployed legacy kernels (nki-samples) the simulator runs: the direct-allocation callback called as
documented, direct allocations inside affine loops that advance a Python address counter, and the fp8
double-row matmul with [K, 2, M] operands on trn2."""

import functools
import warnings

import ml_dtypes
import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiError
from tests.fakes.extra_ops_support import error_code, run

autocomp.nki.install()
import neuronxcc.nki.compiler as ncc  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P = 128


# ---------------------------------------------------------------- ncc.psum.alloc / ncc.sbuf.alloc callbacks


def psum_addr(bank_map, idx, pdim_size, fdim_size):
    """Bound with functools.partial(psum_addr, bank_map=...): the compiler passes idx/pdim_size/fdim_size by name."""
    assert pdim_size == P and fdim_size == 512 * 4
    return (bank_map[idx], 0, 0)


def sbuf_addr(idx, pdim_size, fdim_size):
    return (0, 8192 + idx[0] * fdim_size)


def k_allocated_by_callbacks(a, b):
    out = nl.ndarray((2, P, 512), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((2, nl.par_dim(P), 512), nl.float32,
                     buffer=ncc.psum.alloc(functools.partial(psum_addr, bank_map={(0,): 1, (1,): 5})))
    res = nl.ndarray((2, nl.par_dim(P), 512), nl.float32, buffer=ncc.sbuf.alloc(sbuf_addr))
    lhs = nl.ndarray((nl.par_dim(P), P), nl.float32, buffer=ncc.sbuf.mod_alloc(base_addr=0))
    rhs = nl.ndarray((nl.par_dim(P), 512), nl.float32, buffer=ncc.sbuf.mod_alloc(base_addr=P * 4))
    lhs[...] = nl.load(a)
    rhs[...] = nl.load(b)
    for i in nl.affine_range(2):
        acc[i] = nisa.nc_matmul(lhs, rhs)
        res[i] = nl.multiply(acc[i], float(i + 1))
        nl.store(out[i], res[i])
    return out


def test_allocation_callbacks_get_idx_pdim_size_and_fdim_size_by_name():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((P, P)).astype(np.float32), rng.standard_normal((P, 512)).astype(np.float32)
    out, trace = run(k_allocated_by_callbacks, a, b)
    np.testing.assert_allclose(out, np.stack([a.T @ b, 2 * (a.T @ b)]), rtol=1e-4, atol=1e-4)
    addresses = {t.buffer: t.address for t in trace.tensors.values() if t.address is not None and t.shape[0] == 2}
    assert addresses == {"psum": (0, 1 * 2048), "sbuf": (0, 8192)}  # block 0: bank 1; byte 8192


def k_bad_callback(a):
    nl.ndarray((2, nl.par_dim(P), 512), nl.float32, buffer=ncc.psum.alloc(lambda idx, p, f: 3))
    return a


def test_an_allocation_callback_must_return_the_documented_tuple():
    assert error_code(k_bad_callback, np.zeros((1, 1), np.float32)) == "err_invalid_argument"


# ---------------------------------------------------------------- direct allocation inside loops


def k_address_counter_in_affine_loop(x, loop):
    """Each iteration declares a 96 KiB tile after advancing a Python counter: traced once by the compiler."""
    out = nl.ndarray((4, P, 64), nl.float32, buffer=nl.shared_hbm)
    cur_addr = 0
    for i in loop(4):
        t = nl.ndarray((nl.par_dim(P), 24 * 1024), nl.float32, buffer=ncc.sbuf.mod_alloc(base_addr=cur_addr))
        cur_addr += 24 * 1024 * 4
        t[:, 0:64] = nl.load(x[i])
        nl.store(out[i], t[:, 0:64])
    return out


def test_a_declaration_in_an_affine_loop_is_placed_once():
    x = np.random.default_rng(1).standard_normal((4, P, 64)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warn_host_state_in_loop: the counter is what this test is about
        out, trace = run(k_address_counter_in_affine_loop, x, nl.affine_range)
    np.testing.assert_array_equal(out, x)
    assert {t.address for t in trace.tensors.values() if t.address is not None} == {(0, 0)}


def test_a_declaration_in_an_unrolled_loop_is_placed_per_iteration():
    x = np.zeros((4, P, 64), np.float32)
    with pytest.raises(NkiError) as err:  # static_range unrolls: the second 96 KiB tile does not fit
        autocomp.nki.run_kernel(k_address_counter_in_affine_loop, (x, nl.static_range))
    assert err.value.code == "err_sbuf_capacity_exceeded"


# ---------------------------------------------------------------- fp8 double-row matmul


def k_double_row(lhs_t, rhs):
    """lhs_t [K, 2, M] and rhs [K, 2, N] in fp8: one matmul contracting over 2K rows."""
    out = nl.ndarray((lhs_t.shape[2], rhs.shape[2]), nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((lhs_t.shape[2], rhs.shape[2]), nl.float32, buffer=nl.psum)
    acc[...] += nisa.nc_matmul(nl.load(lhs_t), nl.load(rhs), perf_mode="double_row_gen3")
    nl.store(out, nl.copy(acc))
    return out


def fp8_operands(k=P, m=64, n=256, seed=2):
    rng = np.random.default_rng(seed)
    lhs_t = rng.standard_normal((k, 2, m)).astype(ml_dtypes.float8_e4m3)
    rhs = rng.standard_normal((k, 2, n)).astype(ml_dtypes.float8_e4m3)
    return lhs_t, rhs


def test_double_row_matmul_contracts_over_both_rows_on_trn2():
    lhs_t, rhs = fp8_operands()
    out, trace = run(k_double_row, lhs_t, rhs, target="trn2")
    expect = np.einsum("kjm,kjn->mn", lhs_t.astype(np.float64), rhs.astype(np.float64))
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-4)
    mm = next(i for i in trace.instructions if i.opcode == "MATMUL")
    assert mm.attrs["perf_mode"] == "double_row" and mm.attrs["contract"] == 2 * P
    assert (mm.attrs["stationary_elems"], mm.attrs["moving_elems"]) == (64, 256)


def test_double_row_matmul_needs_trn2_and_fp8():
    lhs_t, rhs = fp8_operands()
    assert error_code(k_double_row, lhs_t, rhs, target="trn1") == "err_unsupported_operation"
    assert error_code(k_double_row, lhs_t.astype(ml_dtypes.bfloat16), rhs.astype(ml_dtypes.bfloat16),
                      target="trn2") == "err_unsupported_dtype"


# ---------------------------------------------------------------- numpy reducers as reduce ops


def k_exp_sum(x):
    out = nl.ndarray((P, 2), nl.float32, buffer=nl.shared_hbm)
    sums = nl.ndarray((P, 2), nl.float32, buffer=nl.sbuf)
    t = nl.load(x)
    nisa.activation_reduce(np.exp, data=t, reduce_op=np.sum, reduce_res=sums[:, 0:1])  # allocated_attention's form
    sums[:, 1:2] = nisa.tensor_reduce(np.sum, data=t, axis=(1,))
    nl.store(out, sums)
    return out


def test_numpy_sum_is_accepted_as_a_reduce_op():
    x = np.random.default_rng(3).standard_normal((P, 64)).astype(np.float32)
    out, _ = run(k_exp_sum, x)
    np.testing.assert_allclose(out[:, 0], np.exp(x).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], x.sum(axis=1), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- columns of sub-tiles stay [P, 1]


def k_column_of_a_block(x):
    """nki-samples' flash_fwd: m_buffer[i] is passed on, and the callee reads and writes m_buffer[:, 0]."""
    out = nl.ndarray((2, P, 1), nl.float32, buffer=nl.shared_hbm)
    m = nl.full((2, nl.par_dim(P), 1), fill_value=-1.0, dtype=nl.float32)
    cols = nl.full((P, 2), fill_value=3.0, dtype=nl.float32)
    t = nl.load(x)
    for i in nl.affine_range(2):
        block, col = m[i], cols[:, i]
        assert block[:, 0].shape == (P, 1) and col[:, 0].shape == (P, 1) and m[i, :, 0].shape == (P, 1)
        block[:, 0] = nl.maximum(nl.copy(block[:, 0]), t)
        col[:, 0] = nl.add(col[:, 0], block[:, 0])
        nl.store(out[i], nl.copy(cols[:, i]))
    return out


def test_a_column_of_a_tile_passed_on_stays_two_dimensional():
    x = np.random.default_rng(4).standard_normal((P, 1)).astype(np.float32)
    out, _ = run(k_column_of_a_block, x)
    expect = 3.0 + np.maximum(x, -1.0)
    np.testing.assert_array_equal(out, np.stack([expect, expect]))
