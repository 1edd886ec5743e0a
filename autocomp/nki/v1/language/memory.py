"""Where v1 tensors live: buffers, ``nl.par_dim`` block dimensions, and the checks of an allocation.

In the v1 dialect every ``nl.*`` / ``nisa.*`` call returns a fresh tile, and
``nl.ndarray`` places a tensor in SBUF, PSUM or HBM, optionally at a direct
address (``ncc.sbuf.mod_alloc``); assignment into tiles is shared with v2
(``autocomp.nki.functional.assignment``).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.buffers import Buffer, hbm, private_hbm, psum, sbuf, shared_hbm  # noqa: F401 - nl.* buffers
from autocomp.nki.errors import raise_error
from autocomp.nki.ops.operands import ctx_state
from autocomp.nki.runtime import current
from autocomp.nki.source import fast_kernel_line, is_internal
from autocomp.nki.tile import Allocation, Tile
from autocomp.nki.trace import HBM, PSUM, SBUF

PSUM_BANK_BYTES = 2048


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
    return caller is not None and caller.f_code.co_name == "call_kernel" and is_internal(caller.f_code.co_filename)


_TRACED_ONCE = ("affine", "sequential", "dynamic")  # loop kinds whose body the compiler traces once


def _direct_address(ctx, allocator, dims, par, dtype):
    """The address of a directly allocated tensor, from ``ncc.sbuf/psum.(mod_)alloc``.

    The compiler traces the body of an affine/sequential loop once, so a declaration inside one is placed once;
    the simulator runs the body per iteration, and kernels that advance a Python address counter after each
    declaration (``cur_addr += ...``) would place later iterations past the end of SBUF. Past the first
    iteration of such a loop the declaration keeps the address its line got then (static_range and Python loops
    unroll: each of their iterations is placed)."""
    sites = ctx_state("direct_allocation_sites", dict)
    line = fast_kernel_line()
    if line in sites and any(f.kind in _TRACED_ONCE and f.iteration > 0 for f in ctx.trace.loop_path(ctx.loop)):
        return sites[line]
    sites[line] = address = allocator.place(dims, par, dtype)
    return address


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
    address = _direct_address(ctx, allocator, dims, par, dtype) if allocator is not None else None
    fill_value = "sentinel" if fill == "sentinel" else fill
    # dims are ints and dtype a numpy dtype by now: the allocation without new_tile's normalising
    alloc = Allocation(ctx, name, kind, dims, dtype, par, fill=fill_value, address=address)
    return Tile(alloc, None, shape=dims)
