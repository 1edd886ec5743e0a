"""Vector-engine instructions that scan, summarise or search a partition's elements.

tensor_tensor_scan, bn_stats / bn_aggr, tensor_scalar_reduce, and the max8 family
(max8, nc_find_index8, nc_match_replace8). The GpSimd instructions live in
``gpsimd.py``; ``iota_values`` is re-exported here for the legacy frontend.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import AluOp
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    DVE,
    PSUM,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
)
from autocomp.nki.ops.gpsimd import iota_values  # noqa: F401 - nisa.iota imports it from here
from autocomp.nki.ops.operands import (
    column,
    compute_tile,
    per_partition,
    per_partition_mask,
    require_op,
    row_mask,
    valid_2d,
)
from autocomp.nki.ops.reduce import reduce_values
from autocomp.nki.tile import Tile

BN_STATS_FMAX = 512
SEARCH_FMAX = 16384  # elements per partition max8 / find_index8 / match_replace8 read


def _same_layout(api: str, ref: Tile, *others: tuple[Tile, str]) -> None:
    for t, arg in others:
        if t.shape[0] != ref.shape[0]:
            raise_error("err_num_partition_mismatch",
                        f"{api}: {arg} has {t.shape[0]} partitions but the data has {ref.shape[0]}")
        if free_size(t) != free_size(ref):
            raise_error("err_invalid_argument",
                        f"{api}: {arg} {list(t.shape)} must hold as many elements per partition as the data "
                        f"{list(ref.shape)}")


def _arithmetic(op: AluOp, api: str, arg: str) -> None:
    if op.bitvec or op.unary:
        raise_error("err_unsupported_operation",
                    f"{api}: {arg}=nl.{op.name} must be a binary arithmetic operator (nl.add, nl.multiply, ...)")


# ---------------------------------------------------------------- scan


def tensor_tensor_scan(dst: Tile, data0: Tile, data1: Tile, initial, op0: AluOp, op1: AluOp, api: str,
                       reverse0: bool = False, reverse1: bool = False, mask: Mask | None = None):
    """Per partition: ``r[i] = op1(op0(data0[i], r[i-1]), data1[i])`` from ``r[-1] = initial``, in fp32."""
    for t, arg in ((data0, "data0"), (data1, "data1"), (dst, "dst")):
        compute_tile(t, api, arg)
    if data0.buffer == PSUM and data1.buffer == PSUM:
        raise_error("err_unsupported_memory", f"{api}: data0 and data1 cannot both be in PSUM; copy one to SBUF")
    _same_layout(api, data0, (data1, "data1"), (dst, "dst"))
    _arithmetic(op0, api, "op0")
    _arithmetic(op1, api, "op1")
    p, n = data0.shape[0], free_size(data0)
    if isinstance(initial, Tile):
        per_partition(initial, p, api, "initial")
    if numerics():
        a = compute_values(data0, mask).reshape(p, n)
        b = compute_values(data1, mask).reshape(p, n)
        init = np.broadcast_to(np.asarray(column(initial, p), dtype=np.float32).reshape(-1), (p,))
        r = _scan(a, b, init, op0, op1, reverse0, reverse1)
        dst.write(r.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    srcs = accesses(data0, data1, mask=mask) + (accesses(initial) if isinstance(initial, Tile) else ())
    return record("TENSOR_TENSOR_SCAN", DVE, api, accesses(dst, mask=mask), srcs, p, n,
                  {"ops": (op0.name, op1.name)}, producer_of=dst, mask=mask)


def _scan(a: np.ndarray, b: np.ndarray, init: np.ndarray, op0: AluOp, op1: AluOp, reverse0: bool,
          reverse1: bool) -> np.ndarray:
    if op0.name == "add" and op1.name == "add":
        # cumsum adds left to right in fp32, exactly like the element loop.
        return np.cumsum(np.concatenate([init[:, None], a + b], axis=1), axis=1, dtype=np.float32)[:, 1:]
    out = np.empty(a.shape, dtype=np.float32)
    r = init.astype(np.float32)
    with np.errstate(all="ignore"):
        for i in range(a.shape[1]):
            t = op0.np(r, a[:, i]) if reverse0 else op0.np(a[:, i], r)
            r = np.asarray(op1.np(b[:, i], t) if reverse1 else op1.np(t, b[:, i]), dtype=np.float32)
            out[:, i] = r
    return out


# ---------------------------------------------------------------- batch-norm statistics


def bn_stats(dst: Tile, data: Tile, api: str, mask: Mask | None = None):
    """Per partition: (count, mean, count*variance) of the even elements, then of the odd elements."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    p, n = data.shape[0], free_size(data)
    if n > BN_STATS_FMAX:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: {n} elements per partition exceed nl.tile_size.bn_stats_fmax ({BN_STATS_FMAX}); run "
                    "bn_stats on 512-element chunks into one stats tile and aggregate them with one bn_aggr")
    if dst.shape[0] != p or free_size(dst) != 6:
        raise_error("err_invalid_argument", f"{api}: the result must be [{p}, 6], got {list(dst.shape)}")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        v = compute_values(data, mask).reshape(p, n).astype(np.float64)
        valid = valid_2d(mask, data.shape)
        valid = np.ones((p, n), dtype=bool) if valid is None else valid
        parity = (np.arange(n) % 2)[None, :]
        halves = [_moments(v, valid & (parity == k)) for k in (0, 1)]
        dst.write(np.concatenate(halves, axis=1).reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("BN_STATS", DVE, api, accesses(dst, mask=out_mask), accesses(data, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)


def _moments(v: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """[P, 3]: count, mean and sum of squared deviations of the selected elements."""
    count = sel.sum(axis=1)
    x = np.where(sel, v, 0.0)
    mean = x.sum(axis=1) / np.maximum(count, 1)
    m2 = np.where(sel, (v - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.stack([count, mean, m2], axis=1)


def bn_aggr(dst: Tile, data: Tile, api: str, mask: Mask | None = None):
    """Combine (count, mean, count*variance) triples per partition into (mean, variance)."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    p, n = data.shape[0], free_size(data)
    if n % 3:
        raise_error("err_invalid_argument",
                    f"{api}: the input holds {n} elements per partition; bn_aggr reads (count, mean, "
                    "count*variance) triples from bn_stats, so it must be a multiple of 3")
    if dst.shape[0] != p or free_size(dst) != 2:
        raise_error("err_invalid_argument", f"{api}: the result must be [{p}, 2], got {list(dst.shape)}")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        t = compute_values(data, mask).reshape(p, n // 3, 3).astype(np.float64)
        valid = valid_2d(mask, data.shape)
        use = np.ones((p, n // 3), dtype=bool) if valid is None else valid.reshape(p, n // 3, 3).all(axis=2)
        count = np.where(use, t[:, :, 0], 0.0)
        live = use & (count > 0)  # empty groups (an odd half of a 1-element chunk) add nothing
        total = count.sum(axis=1)
        mean = np.where(live, count * t[:, :, 1], 0.0).sum(axis=1) / np.maximum(total, 1)
        m2 = np.where(live, t[:, :, 2] + count * (t[:, :, 1] - mean[:, None]) ** 2, 0.0).sum(axis=1)
        var = m2 / np.maximum(total, 1)
        dst.write(np.stack([mean, var], axis=1).reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("BN_AGGR", DVE, api, accesses(dst, mask=out_mask), accesses(data, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)


# ---------------------------------------------------------------- tensor_scalar with a reduction

_SCALAR_REDUCE_OPS = ("add", "subtract", "multiply", "maximum", "minimum")


def tensor_scalar_reduce(dst: Tile, data: Tile, op0: AluOp, operand0, reduce_op: AluOp, reduce_res: Tile, api: str,
                         reverse0: bool = False, mask: Mask | None = None):
    """``dst = data op0 operand0`` and ``reduce_res[P, 1] = reduce_op`` over its free elements (in fp32)."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    _same_layout(api, data, (dst, "dst"))
    _arithmetic(op0, api, "op0")
    require_op(reduce_op, _SCALAR_REDUCE_OPS, api, "reduce_op")
    if reverse0:
        raise_error("err_unsupported_operation",
                    f"{api}: reverse0=True is not supported yet by tensor_scalar_reduce; swap the operands with "
                    "a separate nisa.tensor_scalar(..., reverse0=True)")
    p = data.shape[0]
    if isinstance(operand0, Tile):
        per_partition(operand0, p, api, "operand0")
    per_partition(reduce_res, p, api, "reduce_res")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        v = compute_values(data, mask).reshape(p, -1)
        with np.errstate(all="ignore"):
            r = np.asarray(op0.np(v, column(operand0, p)), dtype=np.float32)
        dst.write(r.reshape(dst.shape), mask)
        red = reduce_values(reduce_op, r, (1,), True, None if mask is None else Mask(valid_2d(mask, data.shape)))
        reduce_res.write(red.reshape(reduce_res.shape), per_partition_mask(out_mask, reduce_res.shape))
    else:
        dst.alloc.mark_written()
        reduce_res.alloc.mark_written()
    dsts = accesses(dst, mask=mask) + accesses(reduce_res, mask=per_partition_mask(out_mask, reduce_res.shape))
    srcs = accesses(data, mask=mask) + (accesses(operand0) if isinstance(operand0, Tile) else ())
    return record("TENSOR_SCALAR_REDUCE", DVE, api, dsts, srcs, p, free_size(data),
                  {"ops": (op0.name,), "reduce_op": reduce_op.name}, producer_of=dst, mask=mask)


# ---------------------------------------------------------------- the max8 family


def _search_input(t: Tile, api: str, arg: str, lo: int) -> int:
    compute_tile(t, api, arg)
    n = free_size(t)
    if not lo <= n <= SEARCH_FMAX:
        raise_error("err_size_of_dimension_exceed_arch_limit" if n > SEARCH_FMAX else "err_invalid_argument",
                    f"{api}: {arg} has {n} elements per partition; it must have between {lo} and {SEARCH_FMAX}")
    return n


def _eight(t: Tile, p: int, api: str, arg: str) -> None:
    on_chip(t, api, arg)
    if t.shape[0] != p or free_size(t) != 8:
        raise_error("err_invalid_argument", f"{api}: {arg} must be [{p}, 8], got {list(t.shape)}")


def max8(dst: Tile, src: Tile, api: str, mask: Mask | None = None):
    """The 8 largest values of each partition, in descending order (compared in fp32)."""
    n = _search_input(src, api, "src", 8)
    p = src.shape[0]
    _eight(dst, p, api, "the result")
    out_mask = row_mask(mask, src.shape)
    if numerics():
        v = _searchable(src, mask, -np.inf)
        top = -np.sort(-v, axis=1)[:, :8]
        dst.write(top.reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("MAX8", DVE, api, accesses(dst, mask=out_mask), accesses(src, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)


def _searchable(t: Tile, mask: Mask | None, fill: float) -> np.ndarray:
    """fp32 [P, n] values with masked-out elements replaced by ``fill`` (a writable copy)."""
    v = compute_values(t, mask).reshape(t.shape[0], -1).astype(np.float32, copy=True)
    valid = valid_2d(mask, t.shape)
    if valid is not None:
        v[~valid] = fill
    return v


def _first_matches(v: np.ndarray, vals: np.ndarray, on_match=None) -> tuple[np.ndarray, bool]:
    """Index of the first element equal to each of the 8 values per partition; whether all were found."""
    rows = np.arange(v.shape[0])
    idx = np.zeros(vals.shape, dtype=np.int64)
    found_all = True
    for j in range(vals.shape[1]):
        eq = v == vals[:, j:j + 1]
        found = eq.any(axis=1)
        idx[:, j] = eq.argmax(axis=1)
        found_all = found_all and bool(found.all())
        if on_match is not None:
            on_match(rows[found], idx[found, j])
    return idx, found_all


def nc_find_index8(dst: Tile, data: Tile, vals: Tile, api: str, mask: Mask | None = None):
    """Index of the first occurrence of each of 8 values per partition (uint16/uint32 result)."""
    n = _search_input(data, api, "data", 8)
    p = data.shape[0]
    _eight(vals, p, api, "vals")
    _eight(dst, p, api, "the result")
    if dst.dtype not in (dt.uint16, dt.uint32):
        raise_error("err_unsupported_dtype", f"{api}: dtype must be uint16 or uint32, got {dt.dtype_name(dst.dtype)}")
    if numerics():
        idx, found = _first_matches(_searchable(data, mask, np.nan), compute_values(vals).reshape(p, 8))
        if not found:
            warn(f"{api}: some values in vals do not occur in data; the hardware result is undefined there "
                 "(the simulator writes 0)", "warn_undefined_result")
        dst.write(idx.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    return record("MAX8", DVE, api, accesses(dst), accesses(data, mask=mask) + accesses(vals), p, n,
                  {"variant": "find_index8"}, producer_of=dst)


def nc_match_replace8(dst: Tile, data: Tile, vals: Tile, imm, api: str, dst_idx: Tile | None = None,
                      mask: Mask | None = None):
    """Replace the first occurrence of each of 8 values per partition with ``imm``; optionally output indices."""
    n = _search_input(data, api, "data", 1)
    p = data.shape[0]
    _eight(vals, p, api, "vals")
    compute_tile(dst, api, "dst")
    _same_layout(api, data, (dst, "dst"))
    if dst_idx is not None:
        _eight(dst_idx, p, api, "dst_idx")
    if isinstance(imm, Tile) or not isinstance(imm, (int, float, np.number)):
        raise_error("err_invalid_argument", f"{api}: imm must be a float32 constant, got {type(imm).__name__}")
    if numerics():
        v = _searchable(data, mask, np.nan)
        replaced = compute_values(data).reshape(p, -1).astype(np.float32, copy=True)

        def replace(rows, cols):
            v[rows, cols] = np.float32(imm)  # later values search the data as replaced so far
            replaced[rows, cols] = np.float32(imm)

        idx, _ = _first_matches(v, compute_values(vals).reshape(p, 8), replace)
        dst.write(replaced.reshape(dst.shape), mask)
        if dst_idx is not None:
            dst_idx.write(idx.reshape(dst_idx.shape))
    else:
        dst.alloc.mark_written()
        if dst_idx is not None:
            dst_idx.alloc.mark_written()
    dsts = accesses(dst, mask=mask) + (accesses(dst_idx) if dst_idx is not None else ())
    return record("MAX8", DVE, api, dsts, accesses(data, mask=mask) + accesses(vals), p, n,
                  {"variant": "match_replace8"}, producer_of=dst, mask=mask)
