"""Legacy-dialect tensor creation, buffers and assignment semantics.

In the legacy dialect every ``nl.*`` / ``nisa.*`` call returns a fresh tile.
``t[...] = nl.exp(x)`` makes the exp write straight into ``t`` (no extra copy),
so a fresh result that has not been used yet is *retargeted* into the
destination of the assignment; anything else assigned is a real copy.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as data_ops
from autocomp.nki.runtime import current
from autocomp.nki.source import is_internal
from autocomp.nki.tile import Allocation, Tile
from autocomp.nki.trace import DVE, HBM, PE, PSUM, SBUF

PSUM_BANK_BYTES = 2048


class Buffer:
    """A memory space: ``nl.sbuf``, ``nl.psum``, ``nl.hbm``, ``nl.shared_hbm``, ``nl.private_hbm``."""

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    def __repr__(self) -> str:
        return f"nl.{self.name}"


sbuf = Buffer("sbuf", SBUF)
psum = Buffer("psum", PSUM)
hbm = Buffer("hbm", HBM)
private_hbm = Buffer("private_hbm", HBM)
shared_hbm = Buffer("shared_hbm", HBM)


class par_dim:  # noqa: N801 - NKI's name
    """Marks the partition dimension in a shape; dimensions before it are block dimensions."""

    def __init__(self, size: int):
        self.size = int(size)

    def __index__(self) -> int:
        return self.size

    def __int__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"par_dim({self.size})"


def _parse_shape(shape) -> tuple[tuple[int, ...], int]:
    if shape.__class__ is tuple:
        for s in shape:
            if s.__class__ is not int:
                break
        else:
            return shape, 0  # the common case: plain ints, partition dimension first
    if isinstance(shape, (int, np.integer, par_dim)):
        shape = (shape,)
    dims, par = [], None
    for i, s in enumerate(shape):
        if isinstance(s, par_dim):
            if par is not None:
                raise_error("err_invalid_argument", "a shape can mark only one par_dim")
            par = i
            dims.append(s.size)
        else:
            dims.append(int(s))
    return tuple(dims), (0 if par is None else par)


def _resolve_buffer(buffer):
    """Returns (kind, allocator-or-None, is_shared)."""
    if buffer is None:
        return SBUF, None, False
    if isinstance(buffer, Buffer):
        return buffer.kind, None, buffer is shared_hbm
    kind = getattr(buffer, "buffer_kind", None)
    if kind is not None:  # a direct-allocation allocator from ncc.sbuf / ncc.psum
        return kind, buffer, False
    if isinstance(buffer, str):
        raise_error("err_string_buffer_name",
                    f"buffer={buffer!r}: pass the buffer object (nl.sbuf, nl.psum, nl.shared_hbm), not a string")
    raise_error("err_invalid_argument", f"unknown buffer {buffer!r}; use nl.sbuf, nl.psum, nl.hbm or nl.shared_hbm")


def _in_kernel_body() -> bool:
    """True when the NKI call comes straight from the top-level kernel function, not a helper it calls."""
    frame = sys._getframe(1)
    while frame is not None and is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    caller = frame.f_back if frame is not None else None
    return caller is not None and caller.f_code.co_name == "run_kernel" and is_internal(caller.f_code.co_filename)


def allocate(shape, dtype, buffer=None, name: str = "", fill="sentinel") -> Tile:
    ctx = current()
    dims, par = _parse_shape(shape)
    kind, allocator, shared = _resolve_buffer(buffer)
    dtype = dt.as_dtype(dtype)
    if kind == HBM:
        if fill != "sentinel":
            raise_error("err_hbm_tensor_with_init_value_not_supported",
                        "HBM tensors cannot be created with an initial value (nl.zeros/full on HBM); create it with "
                        "nl.ndarray and store an initialised SBUF tile into it")
        if shared:
            if ctx.loop != 0 or ctx.depth > 1 or not _in_kernel_body():
                raise_error("err_shared_hbm_must_in_kernel_level",
                            "nl.shared_hbm tensors can only be created at the top level of the kernel, outside loops "
                            "and sub-kernels")
            # SPMD instances share shared_hbm tensors: the n-th allocation is the same tensor in every instance.
            if ctx.shared_cursor < len(ctx.shared_allocs):
                alloc = ctx.shared_allocs[ctx.shared_cursor]
                ctx.shared_cursor += 1
                return Tile(alloc, None)
        alloc = Allocation(ctx, name or f"hbm{ctx.next_tensor_id}", HBM, dims, dtype, -1,
                           kind="output" if shared else "internal")
        if shared:
            ctx.shared_allocs.append(alloc)
            ctx.shared_cursor += 1
        return Tile(alloc, None)
    p = dims[par] if dims else 1
    if p > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"partition dimension {p} of tensor {list(dims)} exceeds the architecture limit of 128; "
                    "tile it, or mark a dimension of at most 128 with nl.par_dim")
    if len(dims) - par < 2 and kind in (SBUF, PSUM) and len(dims) < 2:
        raise_error("err_insufficient_rank",
                    f"on-chip tensor of shape {list(dims)} needs at least 2 dimensions (partition, free); "
                    "use shape (P, 1)")
    free_bytes = math.prod(dims[par + 1:]) * dtype.itemsize if len(dims) > par + 1 else dtype.itemsize
    if kind == PSUM and free_bytes > PSUM_BANK_BYTES:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"PSUM tile of {free_bytes} bytes per partition exceeds one 2 KiB PSUM bank "
                    "(nl.tile_size.psum_fmax = 512 fp32); use block dimensions, e.g. (n, nl.par_dim(128), 512)")
    if kind == SBUF and math.prod(dims[par + 1:]) > 65536:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"SBUF tile free size {math.prod(dims[par + 1:])} exceeds 64K elements per partition")
    address = allocator.place(dims, par, dtype) if allocator is not None else None
    fill_value = "sentinel" if fill == "sentinel" else fill
    # dims are ints and dtype a numpy dtype by now: the allocation without new_tile's normalising
    alloc = Allocation(ctx, name, kind, dims, dtype, par, fill=fill_value, address=address)
    return Tile(alloc, None, shape=dims)


def check_assign_shapes(dst: Tile, value: Tile) -> None:
    if dst.shape == value.shape:
        return
    dn, vn = math.prod(dst.shape), math.prod(value.shape)
    if dn < vn:
        raise_error("err_store_dst_shape_smaller_than_other_shape",
                    f"cannot assign a tile of shape {list(value.shape)} into a destination of shape {list(dst.shape)}; "
                    "the destination must be at least as large as the value")


def assign(dst: Tile, value) -> None:
    """``dst[...] = value`` in the legacy dialect."""
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
    from autocomp.nki.ops.data import tensor_copy

    value.alloc.producer = None
    if value.buffer == HBM:
        raise_error("err_unsupported_memory",
                    "cannot assign an HBM tensor into an on-chip tile; load it with nl.load")
    tensor_copy(dst, value, "nl.copy", engine=DVE)


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
    """The Tensor engine writes matmul results to PSUM in fp32 (or bf16 on trn3), whatever tile holds them."""
    if ins.opcode != "MATMUL" or dst.alloc.dtname == "float32" or dst.buffer != PSUM:
        return
    if current().target == "trn3" and dst.dtype == dt.bfloat16:
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
        if ctx.numerics and dst.is_full and dst.shape == value.shape:
            dst.alloc.take_pending(value.alloc)
            dst.alloc.mark_written()
        elif ctx.numerics:
            prev = dst.view().astype(np.float32)
            add = value.alloc.data.reshape(prev.shape)
            dst.write(prev + add)
        else:
            dst.alloc.mark_written()
        ins.dst = (dst.access(),)
        ins.attrs["accumulate"] = True
        value.alloc.producer = None
        ctx.trace.tensors.pop(value.alloc.id, None)
    else:
        from autocomp.nki.alu import ALU_OPS
        from autocomp.nki.legacy import language as nl

        nl.binary(dst, value, ALU_OPS[op_name], dst=dst)
    return dst
