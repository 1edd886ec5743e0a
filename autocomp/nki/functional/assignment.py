"""Assignment into tiles: ``t[...] = value`` and ``t op= value``, the same in both dialects.

A value-returning call (``nl.exp(x)``, ``nisa.tensor_copy(x)`` in v1) writes a
fresh tile. ``t[...] = nl.exp(x)`` makes the exp write straight into ``t`` (no
extra copy): a fresh result that has not been used yet is *retargeted* into the
destination of the assignment; anything else assigned is a real copy. ``t += x``
on PSUM after a matmul joins its accumulation group; otherwise it is one
Vector-engine op into ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import ALU_OPS
from autocomp.nki.errors import raise_error
from autocomp.nki.functional.elementwise import binary
from autocomp.nki.ops import data as data_ops
from autocomp.nki.runtime import current
from autocomp.nki.storage import Allocation
from autocomp.nki.tile import Tile
from autocomp.nki.trace import DVE, HBM, PE, PSUM, SBUF


def check_assign_shapes(dst: Tile, value: Tile) -> None:
    if dst.shape == value.shape:
        return
    dn, vn = math.prod(dst.shape), math.prod(value.shape)
    if dn < vn:
        raise_error("err_store_dst_shape_smaller_than_other_shape",
                    f"cannot assign a tile of shape {list(value.shape)} into a destination of shape {list(dst.shape)}; "
                    "the destination must be at least as large as the value")


def assign(dst: Tile, value) -> None:
    """``dst[...] = value``: retarget a fresh result into dst, or copy (a memset for a number)."""
    if isinstance(value, Tile) and _same_region(dst, value):
        return  # `t[i] += x` ends with Python assigning t[i] to itself
    if isinstance(value, (int, float, bool, np.number)):
        data_ops.memset(dst, value, "nl.<assign scalar>")
        return
    if not isinstance(value, Tile):
        raise_error("err_invalid_argument",
                    f"cannot assign {type(value).__name__} into a tile; assign a tile produced by an NKI call")
    check_assign_shapes(dst, value)
    src = value.alloc
    ins = src.producer
    if dst.buffer == HBM:
        raise_error("err_unsupported_memory",
                    "cannot assign into an HBM tensor; write it with nl.store(dst, value=tile)")
    if ins is not None and value.is_full and _can_retarget(ins, src, dst):
        _check_matmul_dst(ins, dst)
        _retarget(dst, value, ins)
        return
    value.alloc.producer = None
    if value.buffer == HBM:
        raise_error("err_unsupported_memory",
                    "cannot assign an HBM tensor into an on-chip tile; load it with nl.load")
    data_ops.tensor_copy(dst, value, "nl.copy", engine=DVE)


def _same_region(a: Tile, b: Tile) -> bool:
    if a.alloc is not b.alloc or a.perm != b.perm:
        return False
    if a.arrays is not None or b.arrays is not None:
        return (a.arrays is not None and b.arrays is not None and len(a.arrays) == len(b.arrays)
                and all(x is y for x, y in zip(a.arrays, b.arrays)))
    return _spec_key(a) == _spec_key(b)


def _spec_key(t: Tile) -> tuple:
    """The tile's index spec, with a spec that spans the whole allocation (``t[...]``) written as the
    full tile's: ``t[...] += x`` assigns ``t[...]`` back onto ``t``, the same region."""
    spec = tuple(t.spec or ())
    if spec and spec == tuple((0, 1, n) for n in t.alloc.shape):
        return ()
    return spec


def _can_retarget(ins, src: Allocation, dst: Tile) -> bool:
    if src.buffer == dst.buffer:
        return True
    if ins.engine in (PE,) or ins.opcode == "DMA":
        return False
    return dst.buffer in (SBUF, PSUM)


def _check_matmul_dst(ins, dst: Tile) -> None:
    """The Tensor engine writes matmul results to PSUM in fp32 (or bf16 where the target can), whatever tile holds
    them."""
    if ins.opcode != "MATMUL" or dst.alloc.dtname == "float32" or dst.buffer != PSUM:
        return
    if current().spec.matmul_bf16_result and dst.dtype == dt.bfloat16:
        return
    raise_error("err_unsupported_dtype",
                f"a matmul result cannot go into a {dt.dtype_name(dst.dtype)} PSUM tile: the Tensor engine writes "
                "float32; declare the PSUM tile as nl.float32 and cast when copying it out (nl.copy(..., dtype=))")


def _retarget(dst: Tile, value: Tile, ins) -> None:
    """Make the instruction that produced ``value`` write into ``dst`` instead."""
    ctx = current()
    src = value.alloc
    mask = src.pending_mask
    if ctx.numerics and mask is None and dst.is_full and dst.shape == value.shape and dst.dtype == value.dtype:
        _adopt(dst.alloc, src)
        dst.alloc.mark_written()
    elif ctx.numerics:
        vals = src.data
        if dst.shape != value.shape:
            vals = vals.reshape(dst.shape) if vals.size == math.prod(dst.shape) else np.broadcast_to(vals, dst.shape)
        dst.write(vals, mask)
    else:
        dst.alloc.mark_written()
    acc = dst.access(mask)
    ins.dst = (acc,) + tuple(ins.dst[1:])
    src.producer = None
    ctx.trace.tensors.pop(src.id, None)


def _adopt(dst, src) -> None:
    """Move a dying temporary's values (lazy view, pending matmuls or array) into ``dst`` without copying."""
    if src._lazy is not None:
        dst.set_lazy(src._lazy, src._lazy_src, private=True)
    elif src._pending is not None:
        dst.set_values(src._data)  # the group's base: the zeros marker or an array
        dst._pending, src._pending = src._pending, None
        for a, b in dst._pending:
            a[1].add_reader(dst)
            b[1].add_reader(dst)
    else:
        dst.set_values(src.data)


def inplace(dst: Tile, value, op_name: str):
    """``dst op= value``: PSUM ``+= nc_matmul`` accumulates; otherwise a Vector-engine op into dst."""
    if (op_name == "add" and isinstance(value, Tile) and dst.buffer == PSUM and value.alloc.producer is not None
            and value.alloc.producer.opcode in ("MATMUL", "TRANSPOSE") and value.is_full):
        ins = value.alloc.producer
        _check_matmul_dst(ins, dst)
        ctx = current()
        # The first matmul write of a PSUM accumulation group overwrites: `acc += nc_matmul(...)` into memory no
        # write has reached yet (nl.ndarray(..., buffer=nl.psum), never zeroed) starts the sum, as on hardware.
        # ``acc[...] += ...`` (v1 gives ``acc[...]`` a full spec) is the same group as ``acc += ...``, so it must
        # round the same way: one lazy product, not an eager add per matmul (docs/nki-semantics.md#psum-accumulation).
        if ctx.numerics and dst.covers_allocation and dst.shape == value.shape:
            dst.alloc.zero_unwritten()
            dst.alloc.take_pending(value.alloc)
            dst.alloc.mark_written()
        elif ctx.numerics:
            prev = dst.host_values().astype(np.float32)
            unset = dst.alloc.unset  # reading fresh PSUM above made the table
            if unset is not None:
                prev = np.where(dst.host_values(unset) & np.isnan(prev), np.float32(0), prev)
            add = value.alloc.data.reshape(prev.shape)
            dst.write(prev + add)
        else:
            dst.alloc.mark_written()
        ins.dst = (dst.access(),)
        ins.attrs["accumulate"] = True
        value.alloc.producer = None
        ctx.trace.tensors.pop(value.alloc.id, None)
    else:
        binary(dst, value, ALU_OPS[op_name], dst=dst)
    return dst
