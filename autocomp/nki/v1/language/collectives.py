"""Reductions across loop iterations (``nl.loop_reduce``) and SPMD instances (``nl.all_reduce``), and the
read-modify-write of an HBM tensor by the DMA engines (``nl.atomic_rmw``)."""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import cross_reduce as _cross
from autocomp.nki.ops import data as _data
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.ops.operands import is_scalar as _is_scalar
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM, SBUF


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def loop_reduce(x, op, loop_indices, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Reduce ``x`` across the iterations of the loops in ``loop_indices`` (a Vector op per iteration)."""
    api = "nl.loop_reduce"
    x = _operand(x, api, "x")
    out = _sbuf(x.shape, dtype or x.dtype)
    _cross.loop_reduce(out, x, _alu_op(op, api), loop_indices, api, mask=check_mask(mask))
    return out


def all_reduce(x, op, program_axes, *, dtype=None, mask=None, parallel_reduce=True, asynchronous=False,
               **kwargs) -> Tile:
    """Reduce ``x`` across the SPMD instances along ``program_axes`` (see cross_reduce for the sequential caveat)."""
    api = "nl.all_reduce"
    x = _operand(x, api, "x")
    out = _sbuf(x.shape, dtype or x.dtype)
    _cross.all_reduce(out, x, _alu_op(op, api), program_axes, api, mask=check_mask(mask))
    return out


def atomic_rmw(dst, value, op, *, mask=None, **kwargs) -> None:
    """``dst = op(dst, value)`` on an HBM tensor through the DMA engines (only add is supported)."""
    api = "nl.atomic_rmw"
    mask = check_mask(mask)
    dst = _operand(dst, api, "dst")
    rmw = _alu_op(op, api)
    if rmw.name != "add":
        raise_error("err_unsupported_operation", f"{api}: only np.add / nl.add is supported, got nl.{rmw.name}")
    if dst.buffer != HBM:
        raise_error("err_unsupported_memory", f"{api}: dst must be an HBM tensor, got {dst.buffer.upper()}")
    if _is_scalar(value):
        filled = _sbuf(dst.shape if len(dst.shape) >= 2 else (dst.shape[0], 1), dst.dtype)
        _data.memset(filled, value, api)
        value = filled
    value = _operand(value, api, "value")
    summed = None
    if _current().numerics:
        with np.errstate(all="ignore"):
            summed = dst.read(mask).astype(np.float32) + value.read(mask).astype(np.float32).reshape(dst.shape)
    ins = _data.dma_copy(dst, value, api, mask=mask, src_values=summed)
    ins.attrs["rmw"] = rmw.name
