"""``nki.isa`` (current dialect), continued: the less common instructions.

Index generation (iota, affine_select), scans, statistics, selects, gathers, the
max8 family, random numbers and DMA compute, each a thin dst-first wrapper over
the dialect-free core ops. ``isa.py`` re-exports everything in ``__all__``.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import alu
from autocomp.nki.current import accumulate as acc
from autocomp.nki.current.calls import dst_tile, engine_arg, isa_call, src_tile
from autocomp.nki.current.enums import member as enum_member
from autocomp.nki.current.enums import oob_mode, reduce_cmd
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops import data as data_ops
from autocomp.nki.ops import extra, gpsimd, movement
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops import selection as sel
from autocomp.nki.ops.common import (
    POOL,
    SBUF,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
    tile_checks,
)
from autocomp.nki.ops.operands import alu_op, column, ctx_state
from autocomp.nki.targets_info import fp32
from autocomp.nki.tile import Tile

__all__ = [
    "iota", "affine_select", "tensor_tensor_scan", "bn_stats", "bn_aggr", "tensor_scalar_reduce", "select_reduce",
    "range_select", "tensor_copy_predicated", "tensor_partition_reduce", "nc_n_gather", "local_gather",
    "nc_stream_shuffle", "max8", "nc_find_index8", "nc_match_replace8", "dropout", "rng", "set_rng_seed",
    "sequence_bounds", "dma_compute", "nc_matmul_mx", "quantize_mx", "exponential", "activate2",
    "tensor_scalar_cumulative", "core_barrier", "sendrecv", "nonzero_with_count", "rand2", "rand_set_state",
    "rand_get_state",
]

_isa = isa_call("nisa")


def _cmd(value, api: str) -> str:
    return enum_member(value, reduce_cmd, api, "reduce_cmd").value


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


# ---------------------------------------------------------------- index patterns (GpSimd)


def _pattern_values(dst: Tile, pattern, offset, channel_multiplier, api: str) -> np.ndarray | None:
    """``offset + p * channel_multiplier + sum(step_i * idx_i)`` over dst's elements, in int64."""
    try:
        pairs = [(int(s), int(n)) for s, n in pattern]
    except (TypeError, ValueError):
        raise_error("err_invalid_argument", f"{api}: pattern must be a list of [step, num] pairs, got {pattern!r}")
    if len(pairs) > 4:
        raise_error("err_invalid_argument", f"{api}: pattern has {len(pairs)} dimensions; at most 4")
    count = math.prod(n for _, n in pairs) if pairs else 1
    if count != free_size(dst):
        raise_error("err_invalid_argument",
                    f"{api}: pattern {[list(p) for p in pairs]} covers {count} elements per partition, but dst "
                    f"{list(dst.shape)} has {free_size(dst)}")
    if not numerics():
        return None
    v = np.zeros([1] + [n for _, n in pairs], dtype=np.int64)
    for k, (s, n) in enumerate(pairs):
        shape = [1] * (len(pairs) + 1)
        shape[k + 1] = n
        v = v + s * np.arange(n, dtype=np.int64).reshape(shape)
    p = dst.shape[0]
    v = v.reshape(1, -1) + int(offset) + int(channel_multiplier) * np.arange(p, dtype=np.int64)[:, None]
    return v.reshape(dst.shape)


@_isa
def iota(dst, pattern, offset=0, channel_multiplier=0, name=None):
    """Generate ``offset + partition * channel_multiplier + sum(step * index)`` (int32, cast to dst)."""
    api = "nisa.iota"
    dst = dst_tile(dst, api)
    gpsimd.iota_values(dst, _pattern_values(dst, pattern, offset, channel_multiplier, api), api)


@_isa
def affine_select(dst, pattern, channel_multiplier, on_true_tile, on_false_value, cmp_op=None, offset=0, name=None):
    """``dst = on_true_tile where cmp_op(affine value, 0) else on_false_value`` (causal masks)."""
    api = "nisa.affine_select"
    dst = dst_tile(dst, api)
    if not isinstance(on_true_tile, Tile):
        raise_error("err_invalid_argument",
                    f"{api}: on_true_tile must be a tensor; since nki 0.3 offset is a keyword argument: "
                    "affine_select(dst, pattern, channel_multiplier, on_true_tile, on_false_value, cmp_op, offset=...)")
    on_true = src_tile(on_true_tile, api, "on_true_tile")
    op = alu(cmp_op) if cmp_op is not None else alu("equal")
    values = _pattern_values(dst, pattern, offset, channel_multiplier, api)
    pred = np.zeros(on_true.shape, dtype=bool) if values is None else op.np(values, 0).reshape(on_true.shape)
    gpsimd.affine_select(dst, pred, on_true, on_false_value, api)


@_isa
def tensor_partition_reduce(dst, op, data, name=None):
    api = "nisa.tensor_partition_reduce"
    gpsimd.tensor_partition_reduce(dst_tile(dst, api), src_tile(data, api, "data"), alu_op(op, api), api)


@_isa
def local_gather(dst, src_buffer, index, num_elem_per_idx=1, num_valid_indices=None, name=None):
    api = "nisa.local_gather"
    gpsimd.local_gather(dst_tile(dst, api), src_tile(src_buffer, api, "src_buffer"), src_tile(index, api, "index"),
                        api, num_elem_per_idx=int(num_elem_per_idx), num_valid_indices=num_valid_indices)


@_isa
def sequence_bounds(dst, segment_ids, name=None):
    api = "nisa.sequence_bounds"
    gpsimd.sequence_bounds(dst_tile(dst, api), src_tile(segment_ids, api, "segment_ids"), api)


@_isa
def nc_n_gather(dst, data, indices, name=None):
    """Per partition: ``dst[p, j] = data[p, indices[p, j]]`` over data's flattened free dims (GpSimd)."""
    api = "nisa.nc_n_gather"
    dst, data, indices = dst_tile(dst, api), src_tile(data, api, "data"), src_tile(indices, api, "indices")
    for t, arg in ((dst, "dst"), (data, "data"), (indices, "indices")):
        on_chip(t, api, arg, allowed=(SBUF,))
        tile_checks(t, api, arg)
    p = data.shape[0]
    if indices.dtype != dt.uint32:
        raise_error("err_unsupported_dtype", f"{api}: indices must be uint32, got {dt.dtype_name(indices.dtype)}")
    if dst.dtype != data.dtype:
        raise_error("err_unsupported_dtype", f"{api}: dst must have data's dtype {dt.dtype_name(data.dtype)}")
    if indices.shape[0] != p or dst.shape[0] != p or free_size(dst) != free_size(indices):
        raise_error("err_invalid_argument",
                    f"{api}: data {list(data.shape)}, indices {list(indices.shape)} and dst {list(dst.shape)} need "
                    "the same partitions, and dst as many elements per partition as indices")
    if numerics():
        idx = indices.read().astype(np.int64).reshape(p, -1)
        if idx.min() < 0 or idx.max() >= free_size(data):
            raise_error("err_runtime_out_of_bounds",
                        f"{api}: index {int(idx.max())} is outside the {free_size(data)} elements per partition")
        values = data.read().reshape(p, -1)
        dst.write(np.take_along_axis(values, idx, axis=1).reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    record("GATHER", POOL, api, accesses(dst), accesses(data, indices), p, free_size(dst), {"kind": "n_gather"})


# ---------------------------------------------------------------- Vector-engine scans, statistics, selects


@_isa
def tensor_tensor_scan(dst, data0, data1, initial, op0, op1, reverse0=False, reverse1=False, name=None):
    """Per partition: ``r[i] = op1(op0(data0[i], r[i-1]), data1[i])`` from ``initial``."""
    api = "nisa.tensor_tensor_scan"
    dst = dst_tile(dst, api)
    init = src_tile(initial, api, "initial") if isinstance(initial, Tile) else initial
    extra.tensor_tensor_scan(dst, src_tile(data0, api, "data0"), src_tile(data1, api, "data1"), init, alu(op0),
                             alu(op1), api, reverse0=bool(reverse0), reverse1=bool(reverse1))
    acc.mark_written(dst)


@_isa
def bn_stats(dst, data, name=None):
    api = "nisa.bn_stats"
    extra.bn_stats(dst_tile(dst, api), src_tile(data, api, "data"), api)
    acc.mark_written(dst)


@_isa
def bn_aggr(dst, data, name=None):
    api = "nisa.bn_aggr"
    extra.bn_aggr(dst_tile(dst, api), src_tile(data, api, "data"), api)
    acc.mark_written(dst)


def _dve_regs(t: Tile) -> np.ndarray:
    regs = ctx_state("dve_accumulators", lambda: np.full(128, np.nan, dtype=np.float32))
    start = t.access().partition_start
    return regs[start:start + t.shape[0]]


@_isa
def tensor_scalar_reduce(dst, data, op0, operand0, reduce_op, reduce_res, reverse0=False,
                         reduce_cmd=reduce_cmd.reset_reduce, reduce_init=None, name=None):
    """``dst = data op0 operand0`` and the reduction of dst per partition, through the Vector accumulators."""
    api = "nisa.tensor_scalar_reduce"
    dst, data = dst_tile(dst, api), src_tile(data, api, "data")
    reduce_res = src_tile(reduce_res, api, "reduce_res")
    cmd = _cmd(reduce_cmd, api)
    if cmd not in ("reset_reduce", "reduce", "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be reset_reduce, reduce or load_reduce")
    if (reduce_init is not None) != (cmd == "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_init is given exactly when reduce_cmd=load_reduce")
    rop = alu_op(reduce_op, api, "reduce_op")
    extra.tensor_scalar_reduce(dst, data, alu(op0), operand0, rop, reduce_res, api, reverse0=bool(reverse0))
    regs = _dve_regs(dst)
    if numerics():
        this = compute_values(reduce_res).reshape(-1)
        if cmd != "reset_reduce":
            prior = regs if cmd == "reduce" else np.broadcast_to(
                np.asarray(column(reduce_init, dst.shape[0]), dtype=np.float32).reshape(-1), regs.shape)
            this = np.asarray(rop.np(prior, this), dtype=np.float32)
            reduce_res.write(this.reshape(reduce_res.shape))
        regs[...] = this
    acc.mark_written(dst, reduce_res)


@_isa
def select_reduce(dst, predicate, on_true, on_false, reduce_res=None, reduce_cmd=reduce_cmd.idle, reduce_op=None,
                  reverse_pred=False, name=None):
    """``dst = where(predicate, on_true, on_false)`` with an optional max into reduce_res."""
    api = "nisa.select_reduce"
    dst = dst_tile(dst, api)
    on_false = src_tile(on_false, api, "on_false") if isinstance(on_false, Tile) else on_false
    sel.select_reduce(dst, src_tile(predicate, api, "predicate"), src_tile(on_true, api, "on_true"), on_false, api,
                      reduce_res=reduce_res, reduce_cmd=_cmd(reduce_cmd, api),
                      reduce_op=alu_op(reduce_op, api, "reduce_op") if reduce_op is not None else alu("maximum"),
                      reverse_pred=bool(reverse_pred))
    acc.mark_written(dst, reduce_res)


@_isa
def range_select(dst, on_true_tile, comp_op0, comp_op1, bound0, bound1, reduce_cmd=reduce_cmd.reset_reduce,
                 reduce_res=None, reduce_op=None, range_start=0, on_false_value=fp32.min, name=None):
    api = "nisa.range_select"
    dst = dst_tile(dst, api)
    sel.range_select(dst, src_tile(on_true_tile, api, "on_true_tile"), alu(comp_op0), alu(comp_op1), bound0, bound1,
                     api, reduce_cmd=_cmd(reduce_cmd, api), reduce_res=reduce_res,
                     reduce_op=alu_op(reduce_op, api, "reduce_op") if reduce_op is not None else alu("maximum"),
                     range_start=int(range_start), on_false_value=on_false_value)
    acc.mark_written(dst, reduce_res)


@_isa
def tensor_copy_predicated(dst, src, predicate, reverse_pred=False, name=None):
    """Copy src (a tile or a number) into dst where predicate is nonzero; dst keeps its values elsewhere."""
    api = "nisa.tensor_copy_predicated"
    dst = dst_tile(dst, api)
    src = src_tile(src, api, "src") if isinstance(src, Tile) else src
    sel.tensor_copy_predicated(dst, src, src_tile(predicate, api, "predicate"), api, reverse_pred=bool(reverse_pred))
    acc.mark_written(dst)


@_isa
def nc_stream_shuffle(dst, src, shuffle_mask, name=None):
    api = "nisa.nc_stream_shuffle"
    movement.nc_stream_shuffle(dst_tile(dst, api), src_tile(src, api, "src"), shuffle_mask, api)
    acc.mark_written(dst)


@_isa
def max8(dst, src, name=None):
    api = "nisa.max8"
    extra.max8(dst_tile(dst, api), src_tile(src, api, "src"), api)


@_isa
def nc_find_index8(dst, data, vals, name=None):
    api = "nisa.nc_find_index8"
    extra.nc_find_index8(dst_tile(dst, api), src_tile(data, api, "data"), src_tile(vals, api, "vals"), api)


@_isa
def nc_match_replace8(dst, data, vals, imm, dst_idx=None, name=None):
    api = "nisa.nc_match_replace8"
    extra.nc_match_replace8(dst_tile(dst, api), src_tile(data, api, "data"), src_tile(vals, api, "vals"), imm, api,
                            dst_idx=dst_idx)


# ---------------------------------------------------------------- random numbers


@_isa
def dropout(dst, data, prob, name=None):
    api = "nisa.dropout"
    _rng.dropout(dst_tile(dst, api), src_tile(data, api, "data"), prob, api)


@_isa
def rng(dst, engine=None, name=None):
    """Random bits: integer dst gets uniformly random integers of its width."""
    api = "nisa.rng"
    dst = dst_tile(dst, api)
    if engine is not None:
        engine_arg(engine, api)
    if not dt.is_int(dst.dtype):
        raise_error("err_unsupported_dtype", f"{api}: dst must be an integer type, got {dt.dtype_name(dst.dtype)}")
    _rng.uniform(dst, api)
    if numerics():
        info = np.iinfo(dst.dtype)
        dst.write(_rng.generator().integers(info.min, info.max, size=dst.shape, endpoint=True, dtype=dst.dtype))



@_isa
def set_rng_seed(src_seeds, name=None):
    _rng.set_seed(src_seeds, "nisa.set_rng_seed")


# ---------------------------------------------------------------- DMA compute


@_isa
def dma_compute(dst, srcs, reduce_op, scales=None, unique_indices=True, oob_mode=oob_mode.error, name=None):
    """``dst = srcs[0] + srcs[1] + ...`` computed inside the DMA engines (nl.add only, scales of 1.0)."""
    api = "nisa.dma_compute"
    dst = dst_tile(dst, api)
    srcs = [src_tile(s, api, "srcs") for s in (srcs if isinstance(srcs, (list, tuple)) else [srcs])]
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
    if numerics():
        values = sum(compute_values(s).astype(np.float32).reshape(dst.shape) for s in srcs)
    ins = data_ops.dma_copy(dst, srcs[0], api, src_values=values)
    ins.src = tuple(s.access() for s in srcs)
    ins.attrs["compute"] = "add"


# ---------------------------------------------------------------- documented, not simulated


def _unsupported(name: str, why: str):
    def fn(*args, **kwargs):
        raise_error("err_unsupported_operation", f"nisa.{name} is not simulated: {why}")
    fn.__name__ = name
    fn.__doc__ = f"Not simulated: {why}"
    return fn


nc_matmul_mx = _unsupported("nc_matmul_mx", "MX (trn3) matmuls are not modelled yet")
quantize_mx = _unsupported("quantize_mx", "MX (trn3) quantisation is not modelled yet")
exponential = _unsupported("exponential", "the trn3 Vector-engine exponential is not modelled yet; use "
                                          "nisa.activation(op=nl.exp)")
activate2 = _unsupported("activate2", "the trn3 activate2 instruction is not modelled yet")
tensor_scalar_cumulative = _unsupported("tensor_scalar_cumulative", "use nisa.tensor_tensor_scan")
core_barrier = _unsupported("core_barrier", "LNC instances run one after the other in the simulator, so a "
                                            "cross-core barrier cannot be honoured")
sendrecv = _unsupported("sendrecv", "LNC instances run one after the other in the simulator")
nonzero_with_count = _unsupported("nonzero_with_count", "not modelled yet")
rand2 = _unsupported("rand2", "not modelled yet; use nisa.rng")
rand_set_state = _unsupported("rand_set_state", "not modelled yet; use nisa.set_rng_seed")
rand_get_state = _unsupported("rand_get_state", "not modelled yet")
