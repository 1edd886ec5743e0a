"""``neuronxcc.nki.isa`` (legacy dialect), continued: the less common instructions.

Each wrapper allocates its result tile (SBUF) and calls the dialect-free core op;
``legacy/isa.py`` re-exports everything in ``__all__``.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import IndexExpr, Mask, check_mask
from autocomp.nki.ops import extra as _extra
from autocomp.nki.ops import gpsimd as _gpsimd
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import engine_of as _engine_of
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.targets_info import fp32 as _fp32
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF

__all__ = [
    "affine_select", "tensor_tensor_scan", "bn_stats", "bn_aggr", "select_reduce", "tensor_copy_predicated",
    "tensor_partition_reduce", "tensor_scalar_reduce", "local_gather", "nc_stream_shuffle", "max8",
    "nc_find_index8", "nc_match_replace8", "range_select", "dropout", "dma_transpose", "tensor_copy_dynamic_src",
    "tensor_copy_dynamic_dst", "sequence_bounds",
]

_REDUCE_CMD_BY_VALUE = dict(enumerate(_sel.REDUCE_CMDS))


def _out(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def _reduce_cmd(cmd) -> str:
    """``nisa.reduce_cmd.*`` (or its value / name) as the core ops' command name."""
    if cmd is None:
        return "idle"
    name = getattr(cmd, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(cmd, str):
        return cmd
    return _REDUCE_CMD_BY_VALUE.get(int(cmd), str(cmd))


def _maybe_operand(x, api: str, arg: str):
    return _operand(x, api, arg) if isinstance(x, Tile) else x


# ---------------------------------------------------------------- GpSimd engine


def affine_select(pred, on_true_tile, on_false_value, *, mask=None, dtype=None, **kwargs) -> Tile:
    """``pred ? on_true_tile : on_false_value``, with ``pred`` an affine comparison of nl.arange/mgrid indices."""
    api = "nisa.affine_select"
    if isinstance(pred, Mask):
        if pred.non_affine or pred.uses_mod:
            raise_error("err_unsupported_expression_in_mask",
                        f"{api}: pred must be an affine comparison of index expressions (no // or %); use nl.where "
                        "for other predicates")
        values = pred.values
    elif isinstance(pred, IndexExpr):
        values = pred.values > 0  # an expression selects where it is positive
    else:
        raise_error("err_invalid_argument",
                    f"{api}: pred must be built from nl.arange / nl.mgrid indices, e.g. (i_f <= i_p); got "
                    f"{type(pred).__name__}; use nl.where for a predicate held in a tile")
    on_true = _operand(on_true_tile, api, "on_true_tile")
    out = _out(on_true.shape, dtype or on_true.dtype)
    _gpsimd.affine_select(out, values, on_true, on_false_value, api, mask=check_mask(mask))
    return out


def tensor_partition_reduce(op, data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Reduce ``data`` across its partitions into a one-partition tile (GpSimd engine)."""
    api = "nisa.tensor_partition_reduce"
    data = _operand(data, api, "data")
    out = _out((1,) + tuple(data.shape[1:]), dtype or data.dtype)
    _gpsimd.tensor_partition_reduce(out, data, _alu_op(op, api), api, mask=check_mask(mask))
    return out


def local_gather(src_buffer, index, num_elem_per_idx=1, num_valid_indices=None, *, mask=None, **kwargs) -> Tile:
    """Gather within each GpSimd core's 16 partitions; the result is [P, num_valid_indices, num_elem_per_idx]."""
    api = "nisa.local_gather"
    src = _operand(src_buffer, api, "src_buffer")
    index = _operand(index, api, "index")
    per_core = _free_size(index) * _gpsimd.PARTITIONS_PER_CORE
    valid = per_core if num_valid_indices is None else int(num_valid_indices)
    out = _out((src.shape[0], max(valid, 1), int(num_elem_per_idx)), src.dtype)
    _gpsimd.local_gather(out, src, index, api, int(num_elem_per_idx), num_valid_indices, mask=check_mask(mask))
    return out


def sequence_bounds(*, segment_ids, dtype=None, **kwargs) -> Tile:
    """[start, end) of each element's segment, as a [1, 2, n] tile (padding id 0 gets [n, -1])."""
    api = "nisa.sequence_bounds"
    seg = _operand(segment_ids, api, "segment_ids")
    out = _out((1, 2, _free_size(seg)), dtype or seg.dtype)
    _gpsimd.sequence_bounds(out, seg, api)
    return out


# ---------------------------------------------------------------- Vector engine: scans and statistics


def tensor_tensor_scan(data0, data1, initial, op0, op1, reverse0=False, reverse1=False, *, dtype=None, mask=None,
                       **kwargs) -> Tile:
    api = "nisa.tensor_tensor_scan"
    a, b = _operand(data0, api, "data0"), _operand(data1, api, "data1")
    out = _out(a.shape, dtype or _dt.promote(a.dtype, b.dtype))
    _extra.tensor_tensor_scan(out, a, b, _maybe_operand(initial, api, "initial"), _alu_op(op0, api, "op0"),
                              _alu_op(op1, api, "op1"), api, reverse0=reverse0, reverse1=reverse1,
                              mask=check_mask(mask))
    return out


def bn_stats(data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Six statistics per partition: (count, mean, count*var) of the even and of the odd elements."""
    api = "nisa.bn_stats"
    data = _operand(data, api, "data")
    out = _out((data.shape[0], 6), dtype or data.dtype)
    _extra.bn_stats(out, data, api, mask=check_mask(mask))
    return out


def bn_aggr(data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """(mean, variance) per partition from one or more concatenated bn_stats results."""
    api = "nisa.bn_aggr"
    data = _operand(data, api, "data")
    out = _out((data.shape[0], 2), dtype or data.dtype)
    _extra.bn_aggr(out, data, api, mask=check_mask(mask))
    return out


def tensor_scalar_reduce(*, data, op0, operand0, reduce_op, reduce_res, reverse0=False, dtype=None, mask=None,
                         **kwargs) -> Tile:
    api = "nisa.tensor_scalar_reduce"
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _extra.tensor_scalar_reduce(out, data, _alu_op(op0, api, "op0"), _maybe_operand(operand0, api, "operand0"),
                                _alu_op(reduce_op, api, "reduce_op"), _operand(reduce_res, api, "reduce_res"), api,
                                reverse0=reverse0, mask=check_mask(mask))
    return out


def max8(*, src, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.max8"
    src = _operand(src, api, "src")
    out = _out((src.shape[0], 8), dtype or src.dtype)
    _extra.max8(out, src, api, mask=check_mask(mask))
    return out


def nc_find_index8(*, data, vals, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.nc_find_index8"
    data, vals = _operand(data, api, "data"), _operand(vals, api, "vals")
    out = _out((data.shape[0], 8), dtype or _dt.uint32)
    _extra.nc_find_index8(out, data, vals, api, mask=check_mask(mask))
    return out


def nc_match_replace8(*, data, vals, imm, dst_idx=None, mask=None, dtype=None, **kwargs) -> Tile:
    api = "nisa.nc_match_replace8"
    data, vals = _operand(data, api, "data"), _operand(vals, api, "vals")
    out = _out(data.shape, dtype or data.dtype)
    _extra.nc_match_replace8(out, data, vals, imm, api, dst_idx=_maybe_operand(dst_idx, api, "dst_idx"),
                             mask=check_mask(mask))
    return out


# ---------------------------------------------------------------- Vector engine: selects, RNG, shuffles


def select_reduce(*, dst, predicate, on_true, on_false, reduce_res=None, reduce_cmd=None, reduce_op=np.amax,
                  reverse_pred=False, mask=None, dtype=None, **kwargs) -> Tile:
    """``dst = where(predicate, on_true, on_false)``, optionally max-reducing each partition into reduce_res."""
    api = "nisa.select_reduce"
    dst = _operand(dst, api, "dst")
    _sel.select_reduce(dst, _operand(predicate, api, "predicate"), _operand(on_true, api, "on_true"),
                       _maybe_operand(on_false, api, "on_false"), api,
                       reduce_res=_maybe_operand(reduce_res, api, "reduce_res"), reduce_cmd=_reduce_cmd(reduce_cmd),
                       reduce_op=_alu_op(reduce_op, api, "reduce_op"), reverse_pred=reverse_pred,
                       mask=check_mask(mask))
    return dst


def range_select(*, on_true_tile, comp_op0, comp_op1, bound0, bound1, reduce_cmd=None, reduce_res=None,
                 reduce_op=np.amax, range_start=0, on_false_value=_fp32.min, mask=None, dtype=None,
                 **kwargs) -> Tile:
    """Keep elements whose free index (+ range_start) lies within both bounds; NeuronCore-v3+ only."""
    api = "nisa.range_select"
    on_true = _operand(on_true_tile, api, "on_true_tile")
    out = _out(on_true.shape, dtype or on_true.dtype)
    _sel.range_select(out, on_true, _alu_op(comp_op0, api, "comp_op0"), _alu_op(comp_op1, api, "comp_op1"),
                      _maybe_operand(bound0, api, "bound0"), _maybe_operand(bound1, api, "bound1"), api,
                      reduce_cmd=_reduce_cmd(reduce_cmd), reduce_res=_maybe_operand(reduce_res, api, "reduce_res"),
                      reduce_op=_alu_op(reduce_op, api, "reduce_op"), range_start=int(range_start),
                      on_false_value=on_false_value, mask=check_mask(mask))
    return out


def tensor_copy_predicated(*, src, dst, predicate, reverse_pred=False, mask=None, dtype=None, **kwargs) -> None:
    """Copy ``src`` into ``dst`` where ``predicate`` is non-zero (in place)."""
    api = "nisa.tensor_copy_predicated"
    _sel.tensor_copy_predicated(_operand(dst, api, "dst"), _maybe_operand(src, api, "src"),
                                _operand(predicate, api, "predicate"), api, reverse_pred=reverse_pred,
                                mask=check_mask(mask))


def dropout(data, prob, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Zero elements of ``data`` with probability ``prob`` (a number or a [P, 1] tile)."""
    api = "nisa.dropout"
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _rng.dropout(out, data, _maybe_operand(prob, api, "prob"), api, mask=check_mask(mask))
    return out


def nc_stream_shuffle(src, dst, shuffle_mask, *, dtype=None, mask=None, **kwargs) -> None:
    """Move partitions within each 32-partition quadrant: ``dst[i] = src[shuffle_mask[i]]`` (in place)."""
    api = "nisa.nc_stream_shuffle"
    _move.nc_stream_shuffle(_operand(dst, api, "dst"), _operand(src, api, "src"), shuffle_mask, api,
                            mask=check_mask(mask))


# ---------------------------------------------------------------- data movement


def dma_transpose(src, *, axes=None, mask=None, dtype=None, **kwargs) -> Tile:
    """Transpose an HBM or SBUF tile into a new SBUF tile on the DMA engines (trn2+)."""
    api = "nisa.dma_transpose"
    src = _operand(src, api, "src")
    perm = _move.dma_transpose_axes(src.shape, axes, api)
    out = _out(tuple(src.shape[a] for a in perm), dtype or src.dtype)
    _move.dma_transpose(out, src, perm, api)
    return out


def tensor_copy_dynamic_src(src, *, mask=None, dtype=None, engine=None, **kwargs) -> Tile:
    """A copy from a source region addressed by a run-time offset (index the source with an SBUF value)."""
    api = "nisa.tensor_copy_dynamic_src"
    src = _operand(src, api, "src")
    out = _out(src.shape, dtype or src.dtype)
    _move.dynamic_copy(out, src, api, engine=_engine_of(engine, None), side="src")
    return out


def tensor_copy_dynamic_dst(*, dst, src, mask=None, dtype=None, engine=None, **kwargs) -> Tile:
    """A copy into a destination region addressed by a run-time offset."""
    api = "nisa.tensor_copy_dynamic_dst"
    dst = _operand(dst, api, "dst")
    _move.dynamic_copy(dst, _operand(src, api, "src"), api, engine=_engine_of(engine, None), side="dst")
    return dst
