"""Reductions along the free dimensions (Vector engine): tensor_reduce, and tensor_scalar with a reduction."""

from __future__ import annotations

import numpy as np

from autocomp.nki.alu import AluOp
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, accesses, compute_values, free_size, numerics, on_chip, record, tile_checks
from autocomp.nki.ops.operands import (
    column,
    compute_tile,
    per_partition,
    per_partition_mask,
    require_arithmetic,
    require_op,
    row_mask,
    same_layout,
    valid_2d,
)
from autocomp.nki.tile import Tile

_REDUCERS = {
    "add": (np.sum, 0.0), "subtract": (np.sum, 0.0), "multiply": (np.prod, 1.0),
    "maximum": (np.max, -np.inf), "minimum": (np.min, np.inf),
    "bitwise_and": (np.bitwise_and.reduce, -1), "bitwise_or": (np.bitwise_or.reduce, 0),
    "bitwise_xor": (np.bitwise_xor.reduce, 0), "logical_and": (np.all, True), "logical_or": (np.any, False),
    "abs_max": (lambda v, axis: np.max(np.abs(v), axis=axis), 0.0),
}


def normalize_axes(axis, ndim: int, api: str, trailing: bool = False) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(1, ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(sorted(int(a) + ndim if int(a) < 0 else int(a) for a in axes))
    if 0 in axes:
        raise_error("err_invalid_argument",
                    f"{api}: cannot reduce along axis 0 (the partition dimension); use nisa.tensor_partition_reduce "
                    "or transpose first")
    if any(a >= ndim for a in axes):
        raise_error("err_invalid_argument", f"{api}: axis {axes} out of range for a {ndim}-D tile")
    if trailing and axes != tuple(range(ndim - len(axes), ndim)):
        raise_error("err_reduce_axes_not_trailing",
                    f"{api}: reduction axes {list(axes)} must be the last dimensions of the tile")
    return axes


def reduce_values(op: AluOp, v: np.ndarray, axes: tuple[int, ...], keepdims: bool, mask: Mask | None = None):
    if op.name not in _REDUCERS:
        raise_error("err_unsupported_operation",
                    f"nl.{op.name} cannot be used as a reduction; use add, multiply, maximum, minimum or bitwise ops")
    fn, identity = _REDUCERS[op.name]
    if mask is not None:
        v = np.where(np.broadcast_to(mask.values, v.shape), v, identity)
    r = fn(v, axis=axes)
    return np.expand_dims(r, axes) if keepdims else r


def tensor_reduce(dst: Tile, data: Tile, op: AluOp, axis, api: str, negate: bool = False, keepdims: bool = False,
                  mask: Mask | None = None, trailing: bool = False):
    on_chip(data, api, "data")
    tile_checks(data, api, "data")
    tile_checks(dst, api, "dst")
    axes = normalize_axes(axis, len(data.shape), api, trailing)
    if dst.shape[0] != data.shape[0]:
        raise_error("err_num_partition_mismatch", f"{api}: data has {data.shape[0]} partitions, dst {dst.shape[0]}")
    if numerics():
        r = reduce_values(op, compute_values(data, mask), axes, True, mask)
        if negate:
            r = -r
        dst.write(r.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    return record("TENSOR_REDUCE", DVE, api, accesses(dst), accesses(data, mask=mask), data.shape[0],
                  free_size(data), {"op": op.name, "axes": axes}, producer_of=dst, mask=mask)


# ---------------------------------------------------------------- tensor_scalar with a reduction

_SCALAR_REDUCE_OPS = ("add", "subtract", "multiply", "maximum", "minimum")


def tensor_scalar_reduce(dst: Tile, data: Tile, op0: AluOp, operand0, reduce_op: AluOp, reduce_res: Tile | None,
                         api: str, reverse0: bool = False, mask: Mask | None = None, rows_out: list | None = None):
    """``dst = data op0 operand0`` and ``reduce_res[P, 1] = reduce_op`` over its free elements (in fp32); without
    reduce_res the reduction only reaches ``rows_out`` (the caller's accumulator registers)."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    same_layout(api, data, (dst, "dst"))
    require_arithmetic(op0, api, "op0")
    require_op(reduce_op, _SCALAR_REDUCE_OPS, api, "reduce_op")
    if reverse0:
        raise_error("err_unsupported_operation",
                    f"{api}: reverse0=True is not supported yet by tensor_scalar_reduce; swap the operands with "
                    "a separate nisa.tensor_scalar(..., reverse0=True)")
    p = data.shape[0]
    if isinstance(operand0, Tile):
        per_partition(operand0, p, api, "operand0")
    if reduce_res is not None:
        per_partition(reduce_res, p, api, "reduce_res")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        v = compute_values(data, mask).reshape(p, -1)
        with np.errstate(all="ignore"):
            r = np.asarray(op0.np(v, column(operand0, p)), dtype=np.float32)
        dst.write(r.reshape(dst.shape), mask)
        red = reduce_values(reduce_op, r, (1,), True, None if mask is None else Mask(valid_2d(mask, data.shape)))
        if rows_out is not None:
            rows_out.append(np.asarray(red, dtype=np.float32).reshape(p))
        if reduce_res is not None:
            reduce_res.write(red.reshape(reduce_res.shape), per_partition_mask(out_mask, reduce_res.shape))
    else:
        dst.alloc.mark_written()
        if reduce_res is not None:
            reduce_res.alloc.mark_written()
    dsts = accesses(dst, mask=mask)
    if reduce_res is not None:
        dsts += accesses(reduce_res, mask=per_partition_mask(out_mask, reduce_res.shape))
    srcs = accesses(data, mask=mask) + (accesses(operand0) if isinstance(operand0, Tile) else ())
    return record("TENSOR_SCALAR_REDUCE", DVE, api, dsts, srcs, p, free_size(data),
                  {"ops": (op0.name,), "reduce_op": reduce_op.name}, producer_of=dst, mask=mask)
