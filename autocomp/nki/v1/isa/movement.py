"""The v1 ISA's data movement: DMA copies and transposes, copies at run-time offsets, partition shuffles."""

from __future__ import annotations

import numpy as np

from autocomp.nki.alu import alu
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask, check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops.common import engine_of as _engine_of
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SP
from autocomp.nki.v1.isa.common import result
from autocomp.nki.v1.isa.enums import dge_mode, engine, oob_mode


def dma_copy(*, dst, src, mask=None, dst_rmw_op=None, oob_mode=oob_mode.error, dge_mode=dge_mode.unknown) -> None:
    """Copy between HBM and SBUF (or within one), optionally read-modify-writing the destination."""
    api = "nisa.dma_copy"
    mask = check_mask(mask)
    dst, src = _operand(dst, api, "dst"), _operand(src, api, "src")
    dge = {0: "none", 1: "swdge", 2: "hwdge"}.get(getattr(dge_mode, "value", 0), "none")
    if is_skip_mode(oob_mode):
        if dst_rmw_op is not None:
            raise_error("err_invalid_argument", f"{api}: with dst_rmw_op only oob_mode=nisa.oob_mode.error is allowed")
        mask = skip_out_of_bounds(mask, dst, src)
    if dst_rmw_op is not None:
        op = alu(dst_rmw_op)
        if _current().numerics:
            vals = op.np(dst.read(mask).astype(np.float32), src.read(mask).astype(np.float32))
            _data.dma_copy(dst, src, api, mask=mask, dge=dge, src_values=vals)
        else:
            _data.dma_copy(dst, src, api, mask=mask, dge=dge)
        return
    _data.dma_copy(dst, src, api, mask=mask, dge=dge, queue=SP)


def is_skip_mode(mode) -> bool:
    return mode is oob_mode.skip or getattr(mode, "value", mode) == oob_mode.skip.value


def skip_out_of_bounds(mask: Mask | None, *tiles) -> Mask | None:
    """``oob_mode.skip``: the DMA leaves out the elements an indirect index places outside its tensor."""
    for t in tiles:
        if isinstance(t, Tile) and t.index_access is not None and t.oob:
            valid = np.broadcast_to(t.in_bounds(), t.shape)
            mask = Mask(valid if mask is None else (mask.over(t.shape) & valid))
    return mask


def dma_transpose(src, *, axes=None, mask=None, dtype=None, **kwargs) -> Tile:
    """Transpose an HBM or SBUF tile into a new SBUF tile on the DMA engines (trn2+)."""
    api = "nisa.dma_transpose"
    src = _operand(src, api, "src")
    perm = _move.dma_transpose_axes(src.shape, axes, api)
    spec = _current().spec
    if getattr(kwargs.get("dge_mode"), "value", None) == dge_mode.hwdge.value and not spec.hardware_dge:
        raise_error("err_unsupported_operation",
                    f"{api}: dge_mode=hwdge needs NeuronCore-v3 or later; the target {spec.name} has no "
                    "hardware DGE (leave dge_mode unset)")
    out = result(tuple(src.shape[a] for a in perm), dtype or src.dtype)
    # docs/nki-semantics.md#running-aws-examples: the legacy reference documents DMA transpose on trn1 too
    _move.dma_transpose(out, src, perm, api, any_target=True)
    return out


def tensor_copy_dynamic_src(src, *, mask=None, dtype=None, engine=engine.unknown, **kwargs) -> Tile:
    """A copy from a source region addressed by a run-time offset (index the source with an SBUF value)."""
    api = "nisa.tensor_copy_dynamic_src"
    src = _operand(src, api, "src")
    out = result(src.shape, dtype or src.dtype)
    _move.dynamic_copy(out, src, api, engine=_engine_of(engine, None), side="src")
    return out


def tensor_copy_dynamic_dst(*, dst, src, mask=None, dtype=None, engine=engine.unknown, **kwargs) -> Tile:
    """A copy into a destination region addressed by a run-time offset."""
    api = "nisa.tensor_copy_dynamic_dst"
    dst = _operand(dst, api, "dst")
    _move.dynamic_copy(dst, _operand(src, api, "src"), api, engine=_engine_of(engine, None), side="dst")
    return dst


def nc_stream_shuffle(src, dst, shuffle_mask, *, dtype=None, mask=None, **kwargs) -> None:
    """Move partitions within each 32-partition quadrant: ``dst[i] = src[shuffle_mask[i]]`` (in place)."""
    api = "nisa.nc_stream_shuffle"
    _move.nc_stream_shuffle(_operand(dst, api, "dst"), _operand(src, api, "src"), shuffle_mask, api,
                            mask=check_mask(mask))
