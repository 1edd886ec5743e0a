"""Data movement: DMA copies (with indirect views and out-of-bounds modes), DMA transposes, DMA compute, and
the Vector engine's partition shuffle."""

from __future__ import annotations

import math

import numpy as np

from autocomp import targets as _targets
from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops.common import compute_values as _values
from autocomp.nki.ops.common import numerics as _numerics
from autocomp.nki.ops.operands import alu_op
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, SBUF, SP
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import dst_tile as _dst
from autocomp.nki.v2.calls import isa_call
from autocomp.nki.v2.calls import src_tile as _src
from autocomp.nki.v2.enums import dge_mode, engine, member, oob_mode

_isa = isa_call("nisa")


def _dma_queue(dge, eng, api: str) -> str:
    if eng is engine.scalar:
        if dge is not dge_mode.hwdge:
            raise_error("err_invalid_argument", f"{api}: engine= only applies with dge_mode=nisa.dge_mode.hwdge")
        return ACT
    if eng not in (engine.sync, engine.unknown):
        raise_error("err_invalid_argument", f"{api}: the DMA engine is nisa.engine.sync or nisa.engine.scalar")
    return SP


@_isa
def dma_copy(dst, src, priority=None, oob_mode=oob_mode.error, dge_mode=dge_mode.unknown, engine=engine.unknown,
             name=None):
    """Copy between HBM and SBUF (casting through fp32); PSUM is not a DMA source (nki >= 0.3)."""
    api = "nisa.dma_copy"
    dst, src = _dst(dst, api), _src(src, api, "src")
    oob = member(oob_mode, _oob_enum, api, "oob_mode")
    dge = member(dge_mode, _dge_enum, api, "dge_mode")
    eng = member(engine, _engine_enum, api, "engine")
    if src.buffer == "psum":
        raise_error("err_unsupported_memory",
                    f"{api}: DMA cannot read PSUM (nki >= 0.3); copy it to SBUF with nisa.tensor_copy first")
    if dge is _dge_enum.hwdge:
        if not _current().spec.hardware_dge:
            raise_error("err_unsupported_operation",
                        f"{api}: hardware DGE needs {_targets.earliest_with('hardware_dge')} or later")
        if src.dtype != dst.dtype:
            raise_error("err_unsupported_dtype",
                        f"{api}: hwdge copies raw bytes, so src ({_dt.dtype_name(src.dtype)}) and dst "
                        f"({_dt.dtype_name(dst.dtype)}) must share a dtype; reinterpret with .view(dtype), or use "
                        "dge_mode=nisa.dge_mode.swdge to cast")
    queue = _dma_queue(dge, eng, api)
    mask = oob_view_mask(dst, src, oob, api)
    dge_name = dge.value if dge in (_dge_enum.swdge, _dge_enum.hwdge) else "none"  # unknown: the compiler picks
    _data.dma_copy(dst, src, api, mask=mask, queue=queue, dge=dge_name, indirect=getattr(src, "addr", None) is not None)


_oob_enum, _dge_enum, _engine_enum = oob_mode, dge_mode, engine


@_isa
def dma_transpose(dst, src, axes=None, priority=None, dge_mode=dge_mode.unknown, oob_mode=oob_mode.error, name=None):
    """Transpose while copying (trn2+): 2-D axes (1, 0), 3-D (2, 1, 0), 4-D (3, 1, 2, 0)."""
    api = "nisa.dma_transpose"
    dst, src = _dst(dst, api), _src(src, api, "src")
    dge = member(dge_mode, _dge_enum, api, "dge_mode")
    member(oob_mode, _oob_enum, api, "oob_mode")
    if len(dst.shape) != len(src.shape):
        raise_error("err_rank_mismatch",
                    f"{api}: dst is {len(dst.shape)}-D {list(dst.shape)} but src is {len(src.shape)}-D "
                    f"{list(src.shape)}; the destination must have the source's rank (nki >= 0.4). Reshape dst "
                    "with .reshape(...) to the transposed shape")
    if dst.buffer != SBUF:
        raise_error("err_unsupported_memory", f"{api}: the destination must be in SBUF, got {dst.buffer.upper()}")
    if src.dtype != dst.dtype:
        raise_error("err_unsupported_dtype", f"{api}: src and dst must share a dtype")
    if dge is _dge_enum.hwdge and (src.shape[0] != 16 or src.shape[-1] % 128 or src.dtype.itemsize != 2):
        raise_error("err_invalid_argument",
                    f"{api}: a hardware-DGE transpose needs src.shape[0] == 16, src.shape[-1] a multiple of 128 and "
                    f"a 2-byte dtype; got {list(src.shape)} {_dt.dtype_name(src.dtype)}")
    _move.dma_transpose(dst, src, None if axes is None else tuple(axes), api)


@_isa
def dma_compute(dst, srcs, reduce_op, scales=None, unique_indices=True, oob_mode=oob_mode.error, name=None):
    """``dst = srcs[0] + srcs[1] + ...`` computed inside the DMA engines (nl.add only, scales of 1.0)."""
    api = "nisa.dma_compute"
    dst = _dst(dst, api)
    srcs = [_src(s, api, "srcs") for s in (srcs if isinstance(srcs, (list, tuple)) else [srcs])]
    if not 1 <= len(srcs) <= 16:
        raise_error("err_invalid_argument", f"{api}: srcs must hold 1 to 16 tensors, got {len(srcs)}")
    if alu_op(reduce_op, api, "reduce_op").name != "add":
        raise_error("err_unsupported_operation", f"{api}: only reduce_op=nl.add is supported")
    if scales is not None and any(float(s) != 1.0 for s in scales):
        raise_error("err_unsupported_operation", f"{api}: every scale must be 1.0")
    size = math.prod(dst.shape)
    for s in srcs:
        if math.prod(s.shape) != size:
            raise_error("err_invalid_argument",
                        f"{api}: source {list(s.shape)} and dst {list(dst.shape)} differ in size")
    values = None
    if _numerics():
        values = sum(_values(s).astype(np.float32).reshape(dst.shape) for s in srcs)
    ins = _data.dma_copy(dst, srcs[0], api, src_values=values)
    ins.src = tuple(s.access() for s in srcs)
    ins.attrs["compute"] = "add"


@_isa
def nc_stream_shuffle(dst, src, shuffle_mask, name=None):
    api = "nisa.nc_stream_shuffle"
    _move.nc_stream_shuffle(_dst(dst, api), _src(src, api, "src"), shuffle_mask, api)
    _acc.mark_written(dst)


def oob_view_mask(dst: Tile, src: Tile, mode, api: str) -> Mask | None:
    """The elements an indirect DMA may touch: all, or (oob_mode.skip) only the in-bounds ones."""
    valid = None
    for t in (src, dst):
        v = getattr(t, "valid", None)
        if v is not None:
            v = v.reshape(dst.shape) if v.shape != dst.shape and v.size == math.prod(dst.shape) else v
            valid = v if valid is None else (valid & v)
    if valid is None:
        return None
    if mode is not oob_mode.skip:
        bad = int(np.count_nonzero(~valid))
        raise_error("err_runtime_out_of_bounds",
                    f"{api}: {bad} element(s) of the indirect access fall outside the tensor; fix the offsets, or "
                    "pass oob_mode=nisa.oob_mode.skip to skip them")
    return Mask(valid)
