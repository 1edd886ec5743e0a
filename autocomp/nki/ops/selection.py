"""Vector-engine selects: nl.where, select_reduce, range_select and tensor_copy_predicated.

select_reduce and range_select can max-reduce into the Vector engine's accumulator
registers, which persist across instructions (``reduce_cmd``): simulated as one
fp32 register per partition, holding NaN while its state is undefined.
"""

from __future__ import annotations

import numpy as np

from autocomp import targets
from autocomp.nki import dtypes as dt
from autocomp.nki.alu import AluOp
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    DVE,
    PMAX,
    PSUM,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
)
from autocomp.nki.ops.operands import (
    column,
    compute_tile,
    ctx_state,
    per_partition,
    per_partition_mask,
    require_dtype,
    require_op,
    row_mask,
    valid_2d,
)
from autocomp.nki.runtime import current
from autocomp.nki.targets_info import fp32
from autocomp.nki.tile import Tile

REDUCE_CMDS = ("idle", "reset", "reduce", "reset_reduce")
_COMPARE_OPS = ("equal", "less", "less_equal", "greater", "greater_equal")


def _like_dst(values: np.ndarray, dst: Tile) -> np.ndarray:
    """Align a [P, ...] operand with the destination: same elements reshape, [P, 1] broadcasts along free."""
    if values.shape == dst.shape:
        return values
    p = dst.shape[0]
    if values.size == p * free_size(dst):
        return values.reshape(dst.shape)
    if values.size == p:
        return values.reshape((p,) + (1,) * (len(dst.shape) - 1))
    return values


def _value_of(x, dst: Tile, api: str, arg: str, mask: Mask | None):
    if not isinstance(x, Tile):
        return np.float32(x) if not isinstance(x, (int, np.integer)) else x
    return _like_dst(compute_values(x, mask if x.shape == dst.shape else None), dst)


def _check_select_operand(x, dst: Tile, api: str, arg: str) -> None:
    if not isinstance(x, Tile):
        if not isinstance(x, (int, float, bool, np.number, np.bool_)):
            raise_error("err_invalid_argument", f"{api}: {arg} must be a tile or a number, got {type(x).__name__}")
        return
    on_chip(x, api, arg)
    if x.shape[0] != dst.shape[0]:
        raise_error("err_num_partition_mismatch",
                    f"{api}: {arg} has {x.shape[0]} partitions but the result has {dst.shape[0]}; broadcast along "
                    "partitions explicitly with nl.broadcast_to")
    n = free_size(x)
    if n not in (1, free_size(dst)):
        try:
            np.broadcast_shapes(x.shape, dst.shape)
        except ValueError:
            raise_error("err_invalid_argument",
                        f"{api}: {arg} {list(x.shape)} does not broadcast to the result {list(dst.shape)}")


def select(dst: Tile, predicate: Tile, on_true, on_false, api: str, mask: Mask | None = None):
    """``dst = predicate ? on_true : on_false`` element-wise (nl.where); operands are tiles or numbers."""
    compute_tile(dst, api, "dst")
    compute_tile(predicate, api, "condition")
    for x, arg in ((predicate, "condition"), (on_true, "x"), (on_false, "y")):
        _check_select_operand(x, dst, api, arg)
    if numerics():
        cond = _value_of(predicate, dst, api, "condition", mask) != 0
        with np.errstate(all="ignore"):
            r = np.where(cond, _value_of(on_true, dst, api, "x", mask), _value_of(on_false, dst, api, "y", mask))
        dst.write(np.broadcast_to(r, dst.shape), mask)
    else:
        dst.alloc.mark_written()
    srcs = tuple(x.access(mask if x.shape == dst.shape else None) for x in (on_true, predicate, on_false)
                 if isinstance(x, Tile))
    return record("SELECT", DVE, api, accesses(dst, mask=mask), srcs, dst.shape[0], free_size(dst), None,
                  producer_of=dst, mask=mask)


# ---------------------------------------------------------------- the Vector engine's accumulators


def _accumulators() -> np.ndarray:
    return ctx_state("dve_accumulators", lambda: np.full(PMAX, np.nan, dtype=np.float32))


def _max_reduce(dst: Tile, result: np.ndarray | None, cmd: str, reduce_res: Tile | None, mask: Mask | None) -> None:
    """Apply ``reduce_cmd`` to the accumulators with this instruction's row maxima; read out into reduce_res."""
    p = dst.shape[0]
    start = dst.access().partition_start
    regs = _accumulators()[start:start + p]
    row_max = None
    if result is not None:
        r = result.reshape(p, -1)
        valid = valid_2d(mask, dst.shape)
        with np.errstate(invalid="ignore"):
            row_max = (np.where(valid, r, -np.inf) if valid is not None else r).max(axis=1, initial=-np.inf)
    if cmd in ("reset", "reset_reduce"):
        regs[...] = -np.inf
    if cmd in ("reduce", "reset_reduce") and row_max is not None:
        regs[...] = np.maximum(regs, row_max)
    if reduce_res is not None and row_max is not None:
        out = row_max if cmd == "idle" else regs
        reduce_res.write(out.reshape(reduce_res.shape), per_partition_mask(row_mask(mask, dst.shape), reduce_res.shape))
    if cmd == "idle":
        regs[...] = np.nan  # documented: idle instructions may still clobber the accumulators


def _check_reduce(api: str, p: int, reduce_res: Tile | None, reduce_op: AluOp, cmd: str) -> None:
    if cmd not in REDUCE_CMDS:
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be one of nisa.reduce_cmd.{REDUCE_CMDS}")
    if reduce_op is not None:
        require_op(reduce_op, ("maximum",), api, "reduce_op")
    if reduce_res is not None:
        per_partition(reduce_res, p, api, "reduce_res")
        require_dtype(reduce_res, dt.is_float, api, "reduce_res", "a float type")


def _finish_reduce(dst: Tile, reduce_res: Tile | None) -> tuple:
    if reduce_res is None:
        return ()
    if not numerics():
        reduce_res.alloc.mark_written()
    return accesses(reduce_res)


def select_reduce(dst: Tile, predicate: Tile, on_true: Tile, on_false, api: str, reduce_res: Tile | None = None,
                  reduce_cmd: str = "idle", reduce_op: AluOp | None = None, reverse_pred: bool = False,
                  mask: Mask | None = None):
    """``dst = where(predicate, on_true, on_false)`` with an optional max-reduction per partition.

    ``dst`` is the caller's tile in both dialects, so the instruction is not a retargetable temporary.
    """
    for t, arg in ((dst, "dst"), (predicate, "predicate"), (on_true, "on_true")):
        compute_tile(t, api, arg)
    if on_true.buffer == PSUM and predicate.buffer == PSUM:
        raise_error("err_unsupported_memory", f"{api}: on_true and predicate cannot both be in PSUM")
    p = dst.shape[0]
    for t, arg in ((predicate, "predicate"), (on_true, "on_true")):
        if t.shape[0] != p or free_size(t) != free_size(dst):
            raise_error("err_invalid_argument",
                        f"{api}: {arg} {list(t.shape)} must have the shape of dst {list(dst.shape)}")
    if dt.dtype_name(on_true.dtype) in ("tfloat32", "int32", "uint32"):
        raise_error("err_unsupported_dtype", f"{api}: on_true cannot be {dt.dtype_name(on_true.dtype)}")
    require_dtype(predicate, lambda d: dt.is_int(d) and d.itemsize <= 2, api, "predicate",
                  "an 8- or 16-bit integer type")
    if isinstance(on_false, Tile):
        per_partition(on_false, p, api, "on_false")
    _check_reduce(api, p, reduce_res, reduce_op, reduce_cmd)
    result = None
    if numerics():
        cond = (compute_values(predicate, mask) != 0) ^ bool(reverse_pred)
        result = np.where(cond.reshape(p, -1), compute_values(on_true, mask).reshape(p, -1), column(on_false, p))
        dst.write(result.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    _max_reduce(dst, result, reduce_cmd, reduce_res, mask)
    srcs = accesses(on_true, predicate, mask=mask) + (accesses(on_false) if isinstance(on_false, Tile) else ())
    return record("SELECT", DVE, api, accesses(dst, mask=mask) + _finish_reduce(dst, reduce_res), srcs, p,
                  free_size(dst), {"reduce": reduce_res is not None or reduce_cmd != "idle",
                                   "reduce_cmd": reduce_cmd})


def range_select(dst: Tile, on_true: Tile, comp_op0: AluOp, comp_op1: AluOp, bound0: Tile, bound1: Tile, api: str,
                 reduce_cmd: str = "idle", reduce_res: Tile | None = None, reduce_op: AluOp | None = None,
                 range_start: int = 0, on_false_value=fp32.min, mask: Mask | None = None):
    """Keep on_true where ``comp_op0(range_start + i, bound0)`` and ``comp_op1(range_start + i, bound1)``."""
    spec = current().spec
    if not spec.range_select:
        raise_error("err_unsupported_operation",
                    f"{api}: range_select needs NeuronCore-v3 or later "
                    f"({'/'.join(targets.names_with('range_select'))}); on {spec.name} use nisa.iota with nl.where "
                    "or nisa.affine_select")
    compute_tile(dst, api, "dst")
    compute_tile(on_true, api, "on_true_tile")
    require_dtype(on_true, dt.is_float, api, "on_true_tile", "a float type")
    p = on_true.shape[0]
    if dst.shape[0] != p or free_size(dst) != free_size(on_true):
        raise_error("err_invalid_argument", f"{api}: the result {list(dst.shape)} must match on_true_tile")
    for op, arg in ((comp_op0, "comp_op0"), (comp_op1, "comp_op1")):
        require_op(op, _COMPARE_OPS, api, arg)
    for b, arg in ((bound0, "bound0"), (bound1, "bound1")):
        if not isinstance(b, Tile):
            raise_error("err_invalid_argument", f"{api}: {arg} must be a [P, 1] float32 tile, got {type(b).__name__}")
        per_partition(b, p, api, arg)
        require_dtype(b, lambda d: d == dt.float32, api, arg, "float32")
    if not isinstance(on_false_value, (int, float, np.number)) or np.float32(on_false_value) != np.float32(fp32.min):
        raise_error("err_invalid_argument",
                    f"{api}: on_false_value must be nl.fp32.min (a hardware constraint), got {on_false_value!r}")
    _check_reduce(api, p, reduce_res, reduce_op, reduce_cmd)
    result = None
    if numerics():
        idx = (np.float32(range_start) + np.arange(free_size(on_true), dtype=np.float32))[None, :]
        keep = comp_op0.np(idx, column(bound0, p)) & comp_op1.np(idx, column(bound1, p))
        result = np.where(keep, compute_values(on_true, mask).reshape(p, -1), np.float32(on_false_value))
        dst.write(result.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    _max_reduce(dst, result, reduce_cmd, reduce_res, mask)
    return record("SELECT", DVE, api, accesses(dst, mask=mask) + _finish_reduce(dst, reduce_res),
                  accesses(on_true, mask=mask) + accesses(bound0, bound1), p, free_size(dst),
                  {"reduce": reduce_res is not None or reduce_cmd != "idle", "reduce_cmd": reduce_cmd,
                   "range": True}, producer_of=dst, mask=mask)


def tensor_copy_predicated(dst: Tile, src, predicate: Tile, api: str, reverse_pred: bool = False,
                           mask: Mask | None = None):
    """Copy ``src`` (a tile or a number) into ``dst`` where the predicate holds; elsewhere dst is unchanged."""
    compute_tile(dst, api, "dst")
    compute_tile(predicate, api, "predicate")
    require_dtype(predicate, lambda d: d == dt.bool_ or (dt.is_int(d) and d.kind == "u"), api, "predicate",
                  "uint8, uint16 or uint32")
    tiles = [(predicate, "predicate")]
    if isinstance(src, Tile):
        compute_tile(src, api, "src")
        tiles.append((src, "src"))
        if src.buffer == PSUM and predicate.buffer == PSUM:
            raise_error("err_unsupported_memory", f"{api}: src and predicate cannot both be in PSUM")
        if src.dtype != dst.dtype:
            raise_error("err_unsupported_dtype",
                        f"{api}: src ({dt.dtype_name(src.dtype)}) and dst ({dt.dtype_name(dst.dtype)}) must share "
                        "a dtype; cast src first with nisa.tensor_copy(..., dtype=...)")
    elif not isinstance(src, (int, float, bool, np.number)):
        raise_error("err_invalid_argument", f"{api}: src must be a tile or a number, got {type(src).__name__}")
    for t, arg in tiles:
        if t.shape[0] != dst.shape[0] or free_size(t) != free_size(dst):
            raise_error("err_invalid_argument",
                        f"{api}: {arg} {list(t.shape)} must have the partitions and elements per partition of dst "
                        f"{list(dst.shape)}")
    if numerics():
        cond = ((predicate.read(mask) != 0) ^ bool(reverse_pred)).reshape(dst.shape)
        if mask is not None:
            cond = cond & np.broadcast_to(mask.values, dst.shape)
        values = src.read(mask).reshape(dst.shape) if isinstance(src, Tile) else np.asarray(src)
        dst.write(values, Mask(cond))
    else:
        dst.alloc.mark_written()
    srcs = accesses(src, predicate, mask=mask)
    return record("COPY_PREDICATED", DVE, api, accesses(dst, mask=mask), srcs, dst.shape[0], free_size(dst))
