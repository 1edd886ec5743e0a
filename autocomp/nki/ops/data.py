"""Data movement: DMA between HBM and SBUF, on-chip copies, memset."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    ACT,
    DVE,
    PMAX,
    POOL,
    PSUM,
    SBUF,
    SP,
    accesses,
    compute_values,
    free_size,
    numerics,
    operand,
    record,
    tile_checks,
)
from autocomp.nki.runtime import current
from autocomp.nki.source import kernel_location
from autocomp.nki.tile import Allocation, Tile
from autocomp.nki.trace import HBM


def _element_count(t: Tile) -> int:
    n = 1
    for s in t.shape:
        n *= s
    return n


def load_whole(src: Tile, dtype, api: str) -> Tile | None:
    """HBM -> a fresh SBUF tile for the plain case of nearly every load: a basic 2-D region of at most 128 rows,
    no mask, no cast. The same checks, values and trace as a new tile + ``dma_copy``, in one call because
    kernels issue it 10^4-10^5 times. None when the case does not apply (the caller takes the general path)."""
    a = src.alloc
    shape = src.shape
    if (a.buffer != HBM or src.arrays is not None or src.perm is not None or src.oob or src.index_access is not None
            or len(shape) != 2 or shape[0] > PMAX or (dtype is not None and dtype is not a.dtype)):
        return None
    ctx = current()
    if a.scope:
        operand(src, api, "src")  # may raise: a tile used outside the loop that made it
    a.producer = None  # what operand() does to an in-scope tile: it is no longer an assignable temporary
    alloc = Allocation(ctx, None, SBUF, shape, a.dtype, 0)
    dst = Tile(alloc, None, shape=shape)
    if ctx.numerics:
        view, owner = src.owner_view()  # share the source's memory until either side is written
        alloc.set_lazy(view if view.shape == shape else view.reshape(shape), owner)
    alloc.written = alloc.dirty = True
    s_acc = src.access()
    d_acc = dst.access()
    record("DMA", "dma", api, (d_acc,), (s_acc,), shape[0], shape[1],  # the whole 2-D tile
           {"queue": SP, "dge": "none", "transpose": False, "cast": False}, dst, None, ctx,
           3)  # this function's only caller is nl.load
    return dst


def dma_copy(dst: Tile, src: Tile, api: str, mask: Mask | None = None, queue: str = SP, dge: str = "none",
             transpose: bool = False, src_values: np.ndarray | None = None, indirect: bool = False,
             cast_via_fp32: bool = True):
    """Copy ``src`` to ``dst`` through the DMA queues (with a dtype cast through fp32)."""
    d_alloc, s_alloc = dst.alloc, src.alloc
    d_buf, s_buf = d_alloc.buffer, s_alloc.buffer
    if d_buf == PSUM or s_buf == PSUM:
        raise_error("err_unsupported_memory",
                    f"{api}: DMA cannot read or write PSUM ({s_buf.upper()} -> {d_buf.upper()}); copy "
                    "PSUM to SBUF with nl.copy / nisa.tensor_copy first")
    if d_buf == HBM and d_alloc.kind == "input" and not d_alloc.mutable and current().dialect == "v1":
        # Maybe the legacy convention (outputs passed as parameters): judged when the kernel returns.
        root = d_alloc.base or d_alloc
        current().output_params.setdefault(id(root), (root, kernel_location()))
    elif d_buf == HBM and d_alloc.kind == "input" and not d_alloc.mutable:
        raise_error("err_cannot_update_immutable_parameter",
                    f"{api}: kernel parameter {dst.alloc.name} is immutable; annotate it as nt.mutable_tensor and "
                    "return it, or write the result to a new nl.shared_hbm tensor that the kernel returns")
    if d_buf == SBUF:
        tile_checks(dst, api, "SBUF tile")
    elif s_buf == SBUF:
        tile_checks(src, api, "SBUF tile")
    if not transpose and mask is None and dst.shape != src.shape:
        n_dst, n_src = _element_count(dst), _element_count(src)
        if n_dst != n_src:
            try:
                np.broadcast_shapes(src.shape, dst.shape)
            except ValueError:
                raise_error("err_store_dst_shape_smaller_than_other_shape" if n_dst < n_src
                            else "err_invalid_argument",
                            f"{api}: source shape {list(src.shape)} does not fit destination shape {list(dst.shape)}")
            if n_dst < n_src:
                raise_error("err_store_dst_shape_smaller_than_other_shape",
                            f"{api}: destination {list(dst.shape)} is smaller than source {list(src.shape)}")
    cast = s_alloc.dtype is not d_alloc.dtype and s_alloc.dtype != d_alloc.dtype
    with_values = current().numerics
    if (with_values and src_values is None and mask is None and not cast and not transpose and dst.is_full
            and src.arrays is None and not src.oob):
        # A plain copy into a whole tile: share the source's memory until either side is written.
        view, owner = src.owner_view()
        if view.shape != dst.shape:
            view = view.reshape(dst.shape)
        dst.alloc.set_lazy(view, owner)
        dst.alloc.mark_written()
    elif with_values:
        vals = src_values if src_values is not None else src.read(mask)
        if transpose:
            vals = vals.T
        if cast and cast_via_fp32 and not dt.is_int(src.dtype):
            vals = dt.cast_to(vals.astype(np.float32), dst.dtype)
        if vals.shape != dst.shape:
            vals = vals.reshape(dst.shape) if vals.size == _element_count(dst) else np.broadcast_to(vals, dst.shape)
        dst.write(vals, mask)
    else:
        d_alloc.mark_written()
    s_acc = src.access(mask)
    d_acc = dst.access(mask)
    extra = ()
    if src.index_access is not None or dst.index_access is not None:
        for t, acc in ((src, s_acc), (dst, d_acc)):
            if t.index_access is not None:
                acc.indirect = True
                extra += (t.index_access,)  # the DMA waits for the index tile
    if indirect:
        s_acc.indirect = True
    side = d_acc if d_buf == SBUF else s_acc
    return record("DMA", "dma", api, (d_acc,), (s_acc,) + extra, side.partitions, side.free_elems,
                  {"queue": queue, "dge": dge, "transpose": transpose, "cast": cast}, producer_of=dst, mask=mask)


def tensor_copy(dst: Tile, src: Tile, api: str, engine: str | None = None, mask: Mask | None = None):
    """On-chip copy with an optional cast, on the Vector, Scalar or GpSimd engine."""
    ctx = current()
    for t, arg in ((dst, "dst"), (src, "src")):
        if t.buffer == HBM:
            raise_error("err_unsupported_memory",
                        f"{api}: {arg} is in HBM; on-chip copies work on SBUF/PSUM tiles. Use nl.load / nl.store "
                        "(or nisa.dma_copy) to move data to or from HBM")
        tile_checks(t, api, arg)
    engine = engine or DVE
    if engine == POOL and PSUM in (dst.buffer, src.buffer):
        raise_error("err_unsupported_memory", f"{api}: the GpSimd engine cannot access PSUM; use the Vector engine")
    if engine == ACT and not ctx.spec.act_tensor_copy and api.endswith("tensor_copy"):
        raise_error("err_unsupported_operation",
                    f"{api}: NeuronCore-{ctx.spec.core} ({ctx.target}) has no Scalar-engine tensor_copy; use the "
                    "Vector or GpSimd engine")
    if dst.shape[0] != src.shape[0]:
        raise_error("err_num_partition_mismatch",
                    f"{api}: source has {src.shape[0]} partitions and destination {dst.shape[0]}")
    if free_size(dst) != free_size(src):
        raise_error("err_invalid_argument",
                    f"{api}: source {list(src.shape)} and destination {list(dst.shape)} must hold the same number "
                    "of elements per partition")
    if numerics():
        v = src.read(mask)
        if v.dtype != dst.dtype:
            v = dt.cast_to(compute_values(src, mask) if dt.is_float(v.dtype) else v, dst.dtype)
        dst.write(v.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    return record("TENSOR_COPY", engine, api, accesses(dst, mask=mask), accesses(src, mask=mask), dst.shape[0],
                  free_size(dst), None, producer_of=dst, mask=mask)


def memset(dst: Tile, value, api: str, engine: str | None = None, mask: Mask | None = None):
    """Fill a tile with a constant (Vector engine unless told otherwise)."""
    if dst.buffer == HBM:
        raise_error("err_hbm_tensor_with_init_value_not_supported",
                    f"{api}: HBM tensors cannot be initialised with a value; fill an SBUF tile and store it")
    tile_checks(dst, api, "dst")
    engine = engine or DVE
    if numerics():
        dst.write(np.asarray(value, dtype=np.float64 if not dt.is_int(dst.dtype) else np.int64), mask)
    else:
        dst.alloc.mark_written()
    return record("MEMSET", engine, api, accesses(dst, mask=mask), (), dst.shape[0], free_size(dst),
                  {"value": float(value) if not isinstance(value, (int, np.integer)) else int(value)},
                  producer_of=dst, mask=mask)
