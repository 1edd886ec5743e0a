"""NkiTensor views: indexing rules, reshape/permute/broadcast/select/slice/view(dtype) and raw `.ap()` patterns."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import assert_close, f64, sample

SHAPES = {}


@nki.jit
def index_shapes(h):
    """Records view shapes/patterns (SBUF keeps the partition dim and stays >= 2-D; HBM drops dims)."""
    t = nl.ndarray((64, 64, 64), dtype=nl.float32, buffer=nl.sbuf)
    SHAPES.update(
        p0=t[0, :, :].shape, p_slice=t[0:1].shape, f0=t[:, 0].shape, f0_10=t[:, 0, 10].shape, all_int=t[0, 0, 10].shape,
        ell=t[0, ..., :].shape, step=t[:, :, ::2].shape, chain=t[0, ...][:, 0:32, :].shape, hbm=h[0, :, :].shape,
        hbm_el=h[1, 2].shape, pattern=t[:, 1, 2:10:2].get_pattern(), offset=t[:, 1, 2:10:2].offset,
        strides=t.strides, perm=t.permute((0, 2, 1)).strides, expand=t[:, 0].expand_dim(1).shape,
        squeeze=t[:, 0:1, :].squeeze_dim(1).shape, select=t.select(1, 3).shape, slice=t.slice(2, 8, 24, 4).shape,
        bcast=t[:, 0:1, :].broadcast(1, 5).strides, u8=t.view(nl.uint8).shape, contig=t.is_contiguous(),
        perm_contig=t.permute((0, 2, 1)).is_contiguous(), buffer=t.buffer == nl.sbuf, hbm_buffer=h.buffer == nl.hbm)
    return h


def test_indexing_and_view_shapes():
    index_shapes(np.zeros((4, 8, 16), np.float32))
    s = SHAPES
    assert s["p0"] == (1, 64, 64) and s["p_slice"] == (1, 64, 64)
    assert s["f0"] == (64, 64) and s["f0_10"] == (64, 1) and s["all_int"] == (1, 1)
    assert s["ell"] == (1, 64, 64) and s["step"] == (64, 64, 32) and s["chain"] == (1, 32, 64)
    assert s["hbm"] == (8, 16) and s["hbm_el"] == (16,)
    assert s["pattern"] == [[4096, 64], [2, 4]] and s["offset"] == 64 + 2
    assert s["strides"] == (4096, 64, 1) and s["perm"] == (4096, 1, 64)
    assert s["expand"] == (64, 1, 64) and s["squeeze"] == (64, 64) and s["select"] == (64, 64)
    assert s["slice"] == (64, 64, 4) and s["bcast"] == (4096, 0, 1) and s["u8"] == (64, 64, 256)
    assert s["contig"] and not s["perm_contig"] and s["buffer"] and s["hbm_buffer"]


@nki.jit
def view_roundtrip(a):
    """reshape of a slice, permute, broadcast, expand/squeeze and a strided .ap() read, all by tensor_copy."""
    P, F = a.shape  # (128, 64)
    outs = [nl.ndarray(shape, dtype=a.dtype, buffer=nl.shared_hbm)
            for shape in ((P, 4, 8), (P, 8, 4), (P, 3, 32), (P, 16), (P, 32))]
    t = nl.ndarray((P, F), dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)
    r1 = nl.ndarray((P, 4, 8), dtype=a.dtype)
    nisa.tensor_copy(dst=r1, src=t[:, 32:64].reshape((P, 4, 8)))  # contiguous slice: stays a basic view
    r2 = nl.ndarray((P, 8, 4), dtype=a.dtype)
    nisa.tensor_copy(dst=r2, src=t[:, 32:64].reshape((P, 4, 8)).permute((0, 2, 1)))
    r3 = nl.ndarray((P, 3, 32), dtype=a.dtype)
    nisa.tensor_copy(dst=r3, src=t[:, 0:32].expand_dim(1).broadcast(1, 3))
    r4 = nl.ndarray((P, 16), dtype=a.dtype)
    nisa.tensor_copy(dst=r4, src=t.ap(pattern=[[F, P], [4, 16]], offset=1))
    r5 = nl.ndarray((P, 32), dtype=a.dtype)
    nisa.tensor_copy(dst=r5, src=t.reshape((P, 32, 2))[:, :, 1])
    for o, r in zip(outs, (r1, r2, r3, r4, r5), strict=True):
        nisa.dma_copy(dst=o, src=r)
    return tuple(outs)


def test_views_share_storage_and_read_the_right_elements():
    a = sample(np.random.default_rng(0), (128, 64))
    r1, r2, r3, r4, r5 = view_roundtrip(a)
    np.testing.assert_array_equal(r1, a[:, 32:].reshape(128, 4, 8))
    np.testing.assert_array_equal(r2, a[:, 32:].reshape(128, 4, 8).transpose(0, 2, 1))
    np.testing.assert_array_equal(r3, np.broadcast_to(a[:, None, :32], (128, 3, 32)))
    np.testing.assert_array_equal(r4, a[:, 1::4])
    np.testing.assert_array_equal(r5, a[:, 1::2])
    copies = [i for i in view_roundtrip.last_result.trace.instructions if i.opcode == "TENSOR_COPY"]
    assert copies[1].src[0].pattern == ((1, 8), (8, 4)) and copies[1].src[0].offset == 32
    assert copies[2].src[0].pattern == ((0, 3), (1, 32))
    assert copies[3].src[0].pattern == ((4, 16),) and copies[3].src[0].offset == 1


@nki.jit
def abs_by_bits(x):
    """|x| by clearing the sign bit through an int32 view of the same SBUF storage."""
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.dma_copy(dst=t, src=x)
    bits = t.view(nl.int32)
    nisa.tensor_scalar(dst=bits, data=bits, op0=nl.bitwise_and, operand0=0x7FFFFFFF)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_view_dtype_reinterprets_the_same_bits():
    x = sample(np.random.default_rng(1), (128, 32))
    np.testing.assert_array_equal(abs_by_bits(x), np.abs(x))
    trace = abs_by_bits.last_result.trace
    ts = [i for i in trace.instructions if i.opcode == "TENSOR_SCALAR"][0]
    assert ts.src[0].dtype == "int32" and ts.dst[0].tensor == trace.instructions[0].dst[0].tensor


@nki.jit
def gather_rows(data, idx, mode):
    """out[p] = data[idx[p]] through an indirect .ap(vector_offset=...) DMA."""
    P, F = idx.shape[0], data.shape[1]
    out = nl.ndarray((P, F), dtype=data.dtype, buffer=nl.shared_hbm)
    idx_sb = nl.ndarray((P, 1), dtype=nl.uint32)
    nisa.dma_copy(dst=idx_sb, src=idx)
    dst = nl.ndarray((P, F), dtype=data.dtype)
    nisa.memset(dst=dst, value=0.0)
    nisa.dma_copy(dst=dst, src=data.ap(pattern=[[F, P], [1, F]], vector_offset=idx_sb, indirect_dim=0),
                  oob_mode=mode)
    nisa.dma_copy(dst=out, src=dst)
    return out


def test_indirect_gather_and_out_of_bounds_modes():
    rng = np.random.default_rng(2)
    data = sample(rng, (40, 16))
    idx = rng.integers(0, 40, (32, 1)).astype(np.uint32)
    np.testing.assert_array_equal(gather_rows(data, idx, nisa.oob_mode.error), data[idx[:, 0]])
    dma = gather_rows.last_result.trace.instructions[-2]
    assert dma.src[0].indirect
    idx[5, 0] = 99
    with pytest.raises(NkiError) as err:
        gather_rows(data, idx, nisa.oob_mode.error)
    assert err.value.code == "err_runtime_out_of_bounds"
    out = gather_rows(data, idx, nisa.oob_mode.skip)
    ref = data[np.minimum(idx[:, 0], 39)]
    ref[5] = 0
    np.testing.assert_array_equal(out, ref)


@nki.jit
def bad_view(a, which):
    t = nl.ndarray((128, 4, 8), dtype=nl.float32)
    if which == "reshape":
        t[:, :, 0:4].reshape((128, 16))
    elif which == "permute":
        t.permute((1, 0, 2))
    elif which == "ap_partition":
        t.ap([[64, 64], [1, 32]])
    elif which == "ap_bounds":
        t.ap([[32, 128], [1, 33]])
    elif which == "slice":
        t[:, 0:5]
    return a


@pytest.mark.parametrize("which,code", [("reshape", "err_invalid_argument"), ("permute", "err_invalid_argument"),
                                        ("ap_partition", "err_invalid_argument"),
                                        ("ap_bounds", "err_tensor_access_out_of_bound"),
                                        ("slice", "err_tensor_access_out_of_bound")])
def test_invalid_views(which, code):
    with pytest.raises(NkiError) as err:
        bad_view(np.zeros((1, 1), np.float32), which)
    assert err.value.code == code
    assert err.value.location[0] == __file__


@nki.jit
def hbm_reshape_sum(x):
    """HBM views reshape freely: a [8, 64] input read as [128, 4] tiles."""
    out = nl.ndarray((128, 1), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.ndarray((128, 4), dtype=nl.float32)
    nisa.dma_copy(dst=t, src=x.reshape((128, 4)))
    s = nl.ndarray((128, 1), dtype=nl.float32)
    nisa.tensor_reduce(dst=s, op=nl.add, data=t, axis=1)
    nisa.dma_copy(dst=out, src=s)
    return out


def test_hbm_reshape():
    x = sample(np.random.default_rng(3), (8, 64))
    assert_close(hbm_reshape_sum(x), f64(x).reshape(128, 4).sum(axis=1, keepdims=True))


@nki.jit
def ap_dtype_and_dynamic_select(x, rows):
    """.ap(dtype=...) reinterprets the storage (counts in the new dtype); select() takes a register index."""
    P, F = x.shape  # int32 [P, F]
    lo = nl.ndarray((P, F), dtype=nl.uint16, buffer=nl.shared_hbm)
    picked = nl.ndarray((len(rows), F), dtype=nl.int32, buffer=nl.shared_hbm)
    t = nl.ndarray((P, F), dtype=nl.int32)
    nisa.dma_copy(dst=t, src=x)
    halves = nl.ndarray((P, F), dtype=nl.uint16)
    nisa.tensor_copy(dst=halves, src=t.ap(pattern=[[2 * F, P], [2, F]], dtype=nl.uint16))  # low 16 bits
    nisa.dma_copy(dst=lo, src=halves)
    for j, r in enumerate(rows):
        reg = nisa.register_alloc(r)
        row = nl.ndarray((1, F), dtype=nl.int32)
        nisa.dma_copy(dst=row, src=x.select(0, reg).reshape((1, F)))
        nisa.dma_copy(dst=picked[j:j + 1], src=row)
    nl.device_print("first row:", row)
    return lo, picked


def test_ap_dtype_reinterpret_and_register_select(capsys):
    x = np.random.default_rng(5).integers(-2**31, 2**31 - 1, (16, 8), dtype=np.int64).astype(np.int32)
    lo, picked = ap_dtype_and_dynamic_select(x, (3, 11))
    np.testing.assert_array_equal(lo, x.view(np.uint16)[:, 0::2])
    np.testing.assert_array_equal(picked, x[[3, 11]])
    assert "first row:" in capsys.readouterr().out
