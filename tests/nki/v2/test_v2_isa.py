"""Less common current-dialect instructions against numpy: iota, selects, gathers, reductions,
the Scalar engine's reduce registers, DMA compute and DMA transpose."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError, NkiWarning
from tests.fakes.v2_support import assert_close, f64, sample, target

RESULTS = {}


def _load(src, dtype=None):
    t = nl.ndarray(src.shape, dtype=dtype or src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


def _out(t):
    """Copy an SBUF tensor to a new shared_hbm output."""
    o = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o


@nki.jit
def index_ops(x, idx):
    io = nl.ndarray((16, 4, 8), dtype=nl.int32)
    nisa.iota(dst=io, pattern=[[8, 4], [1, 8]], offset=3, channel_multiplier=100)
    xs = _load(x)
    gathered = nl.ndarray((16, 5), dtype=x.dtype)
    nisa.nc_n_gather(dst=gathered, data=xs, indices=_load(idx))
    col_sum = nl.ndarray((1, 32), dtype=nl.float32)
    nisa.tensor_partition_reduce(dst=col_sum, op=nl.add, data=xs)
    return _out(io), _out(gathered), _out(col_sum)


def test_iota_gather_and_partition_reduce():
    rng = np.random.default_rng(0)
    x, idx = sample(rng, (16, 32)), rng.integers(0, 32, (16, 5)).astype(np.uint32)
    io, gathered, col_sum = index_ops(x, idx)
    p = np.arange(16)[:, None, None]
    np.testing.assert_array_equal(io, 3 + 100 * p + 8 * np.arange(4)[None, :, None] + np.arange(8)[None, None, :])
    np.testing.assert_array_equal(gathered, np.take_along_axis(x, idx.astype(np.int64), axis=1))
    assert_close(col_sum, f64(x).sum(axis=0, keepdims=True))


@nki.jit
def select_ops(x, pred):
    xs, ps = _load(x), _load(pred)
    sel = nl.ndarray(x.shape, dtype=x.dtype)
    rmax = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.select_reduce(dst=sel, predicate=ps, on_true=xs, on_false=-5.0, reduce_res=rmax,
                       reduce_cmd=nisa.reduce_cmd.reset_reduce, reduce_op=nl.maximum)
    cp = nl.zeros(x.shape, dtype=x.dtype)
    nisa.tensor_copy_predicated(dst=cp, src=xs, predicate=ps, reverse_pred=True)
    scaled = nl.ndarray(x.shape, dtype=nl.float32)
    rsum = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.tensor_scalar_reduce(dst=scaled, data=xs, op0=nl.multiply, operand0=2.0, reduce_op=nl.add, reduce_res=rsum)
    nisa.tensor_scalar_reduce(dst=scaled, data=xs, op0=nl.multiply, operand0=2.0, reduce_op=nl.add, reduce_res=rsum,
                              reduce_cmd=nisa.reduce_cmd.reduce)
    return _out(sel), _out(rmax), _out(cp), _out(rsum)


def test_selects_and_vector_accumulators():
    rng = np.random.default_rng(1)
    x, pred = sample(rng, (32, 48)), (rng.random((32, 48)) < 0.5).astype(np.uint8)
    sel, rmax, cp, rsum = select_ops(x, pred)
    ref_sel = np.where(pred != 0, x, -5.0)
    np.testing.assert_array_equal(sel, ref_sel)
    np.testing.assert_array_equal(rmax[:, 0], ref_sel.max(axis=1))
    np.testing.assert_array_equal(cp, np.where(pred == 0, x, 0))
    assert_close(rsum, 4 * f64(x).sum(axis=1, keepdims=True), tol=1e-5)  # reduce adds onto the first sum


@nki.jit
def act_registers(x):
    """Row sums of exp(x) over two column halves accumulated in the Scalar engine's reduce registers."""
    xs = _load(x)
    e = nl.ndarray(x.shape, dtype=nl.float32)
    total = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    half = x.shape[1] // 2
    nisa.activation(dst=e[:, :half], op=nl.exp, data=xs[:, :half], reduce_op=nl.add,
                    reduce_cmd=nisa.reduce_cmd.reset_reduce)
    nisa.activation(dst=e[:, half:], op=nl.exp, data=xs[:, half:], reduce_op=nl.add, reduce_res=total,
                    reduce_cmd=nisa.reduce_cmd.reduce)
    sq_sum = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.activation_reduce(dst=e, op=nl.square, data=xs, reduce_op=nl.add, reduce_res=sq_sum)
    return _out(total), _out(sq_sum)


def test_activation_reduce_registers_persist_across_instructions():
    x = sample(np.random.default_rng(2), (64, 40))
    total, sq_sum = act_registers(x)
    assert_close(total, np.exp(f64(x)).sum(axis=1, keepdims=True), tol=1e-5)
    assert_close(sq_sum, (f64(x) ** 2).sum(axis=1, keepdims=True), tol=1e-5)
    acts = [i for i in act_registers.last_result.trace.instructions if i.opcode.startswith("ACTIVATE")]
    assert [len(i.dst) for i in acts] == [1, 2, 2]


@nki.jit
def idle_read(x):
    xs = _load(x)
    r = nl.ndarray((x.shape[0], 1), dtype=nl.float32)
    nisa.activation(dst=xs, op=nl.exp, data=xs, reduce_op=nl.add, reduce_res=r)
    return _out(r)


def test_reduce_with_idle_command_warns():
    with pytest.warns(NkiWarning, match="warn_idle_reduce"):
        idle_read(np.zeros((4, 4), np.float32))


@nki.jit
def dma_ops(a, b):
    s = nl.ndarray(a.shape, dtype=nl.float32)
    nisa.dma_copy(dst=s, src=a)
    nisa.dma_compute(dst=s, srcs=[s, b], reduce_op=nl.add)
    t = nl.ndarray((a.shape[1], a.shape[0]), dtype=a.dtype)
    nisa.dma_transpose(dst=t, src=a)
    return _out(s), _out(t)


def test_dma_compute_and_2d_dma_transpose():
    rng = np.random.default_rng(3)
    a, b = sample(rng, (32, 64)), sample(rng, (32, 64))
    with target("trn2"):
        s, t = dma_ops(a, b)
    assert_close(s, f64(a) + f64(b))
    np.testing.assert_array_equal(t, a.T)
    assert nisa.nc_version.gen3 > nisa.nc_version.gen2


@nki.jit
def versions(a):
    RESULTS["version"] = nisa.get_nc_version()
    return a


@pytest.mark.parametrize("name,gen", [("trn1", 2), ("trn2", 3), ("trn3", 4)])
def test_get_nc_version(name, gen):
    with target(name):
        versions(np.zeros((1, 1), np.float32))
    assert RESULTS["version"] == gen and RESULTS["version"] is nisa.nc_version(gen)


@nki.jit
def double_row_matmul(st, mv):
    s, m = _load(st), _load(mv)
    ps = nl.ndarray((st.shape[2], mv.shape[2]), dtype=nl.float32, buffer=nl.psum)
    for _ in range(2):
        nisa.nc_matmul(ps, s, m, perf_mode=nisa.matmul_perf_mode.double_row)
    r = nl.ndarray(ps.shape, dtype=nl.float32)
    nisa.tensor_copy(dst=r, src=ps)
    return _out(r)


def test_fp8_double_row_matmul_contracts_two_rows_per_partition():
    import ml_dtypes

    rng = np.random.default_rng(4)
    st = rng.standard_normal((128, 2, 64)).astype(ml_dtypes.float8_e4m3)
    mv = rng.standard_normal((128, 2, 96)).astype(ml_dtypes.float8_e4m3)
    with target("trn2"):
        out = double_row_matmul(st, mv)
    assert_close(out, 2 * np.einsum("kjm,kjn->mn", f64(st), f64(mv)), tol=1e-6)
    mms = [i for i in double_row_matmul.last_result.trace.instructions if i.opcode == "MATMUL"]
    assert [(i.attrs["contract"], i.attrs["perf_mode"], i.attrs["accumulate"]) for i in mms] == [
        (256, "double_row", False), (256, "double_row", True)]
    with target("trn1"), pytest.raises(NkiError, match="trn2 or later"):
        double_row_matmul(st, mv)
