"""The Vector engine's scans and statistics along each partition: tensor_tensor_scan, bn_stats / bn_aggr, and
tensor_scalar_reduce / tensor_scalar_cumulative through the Vector accumulators."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import alu
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import reduce as reduce_ops
from autocomp.nki.ops import scan, statistics
from autocomp.nki.ops.common import compute_values, numerics
from autocomp.nki.ops.operands import alu_op, column, ctx_state
from autocomp.nki.tile import Tile
from autocomp.nki.v2 import accumulate as acc
from autocomp.nki.v2.calls import dst_tile, isa_call, src_tile
from autocomp.nki.v2.enums import reduce_cmd, reduce_command

_isa = isa_call("nisa")


@_isa
def tensor_tensor_scan(dst, data0, data1, initial, op0, op1, reverse0=False, reverse1=False, name=None):
    """Per partition: ``r[i] = op1(op0(data0[i], r[i-1]), data1[i])`` from ``initial``."""
    api = "nisa.tensor_tensor_scan"
    dst = dst_tile(dst, api)
    init = src_tile(initial, api, "initial") if isinstance(initial, Tile) else initial
    scan.tensor_tensor_scan(dst, src_tile(data0, api, "data0"), src_tile(data1, api, "data1"), init, alu(op0),
                             alu(op1), api, reverse0=bool(reverse0), reverse1=bool(reverse1))
    acc.mark_written(dst)


@_isa
def bn_stats(dst, data, name=None):
    api = "nisa.bn_stats"
    statistics.bn_stats(dst_tile(dst, api), src_tile(data, api, "data"), api)
    acc.mark_written(dst)


@_isa
def bn_aggr(dst, data, name=None):
    api = "nisa.bn_aggr"
    statistics.bn_aggr(dst_tile(dst, api), src_tile(data, api, "data"), api)
    acc.mark_written(dst)


def _dve_regs(t: Tile) -> np.ndarray:
    regs = ctx_state("dve_accumulators", lambda: np.full(128, np.nan, dtype=np.float32))
    start = t.access().partition_start
    return regs[start:start + t.shape[0]]


@_isa
def tensor_scalar_reduce(dst, data, op0, operand0, reduce_op, reduce_res=None, reverse0=False,
                         reduce_cmd=reduce_cmd.reset_reduce, reduce_init=None, reduce_res_negate=False, name=None):
    """``dst = data op0 operand0`` and the reduction of dst per partition, through the Vector accumulators;
    without reduce_res the result stays in the accumulators, and reduce_res_negate negates only what
    reduce_res receives."""
    api = "nisa.tensor_scalar_reduce"
    dst, data = dst_tile(dst, api), src_tile(data, api, "data")
    if reduce_res is not None:
        reduce_res = src_tile(reduce_res, api, "reduce_res")
    cmd = reduce_command(reduce_cmd, api)
    if cmd not in ("reset_reduce", "reduce", "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be reset_reduce, reduce or load_reduce")
    if (reduce_init is not None) != (cmd == "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_init is given exactly when reduce_cmd=load_reduce")
    rop = alu_op(reduce_op, api, "reduce_op")
    rows: list = []
    reduce_ops.tensor_scalar_reduce(dst, data, alu(op0), operand0, rop, reduce_res, api, reverse0=bool(reverse0),
                                    rows_out=rows)
    regs = _dve_regs(dst)
    if numerics():
        # The registers keep what reduce_res holds (its dtype's rounding) when there is one.
        this = compute_values(reduce_res).reshape(-1) if reduce_res is not None else rows[0]
        if cmd != "reset_reduce":
            prior = regs if cmd == "reduce" else np.broadcast_to(
                np.asarray(column(reduce_init, dst.shape[0]), dtype=np.float32).reshape(-1), regs.shape)
            this = np.asarray(rop.np(prior, this), dtype=np.float32)
        regs[...] = this
        if reduce_res is not None and (cmd != "reset_reduce" or reduce_res_negate):
            reduce_res.write((-this if reduce_res_negate else this).reshape(reduce_res.shape))
    acc.mark_written(dst, reduce_res)


@_isa
def tensor_scalar_cumulative(dst, src, op0, op1, imm0, imm1=None, reduce_cmd=reduce_cmd.reset_reduce, name=None):
    """Per partition ``reg = op1(op0(src[i], imm0), reg); dst[i] = reg`` on the Vector accumulators, which start
    at op1's identity (reset_reduce), keep their value (reduce) or load imm1 (load_reduce)."""
    api = "nisa.tensor_scalar_cumulative"
    dst, src = dst_tile(dst, api), src_tile(src, api, "src")
    cmd = reduce_command(reduce_cmd, api)
    if cmd not in ("reset_reduce", "reduce", "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be reset_reduce, reduce or load_reduce")
    if (imm1 is not None) != (cmd == "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: imm1 (the accumulator's starting value) is given exactly when "
                                            "reduce_cmd=load_reduce")
    for x, arg in ((imm0, "imm0"), (imm1, "imm1")):
        if isinstance(x, Tile) and src_tile(x, api, arg).dtype != dt.float32:
            raise_error("err_unsupported_dtype", f"{api}: {arg} must be float32")
    rop = alu(op1)
    regs = _dve_regs(dst)
    start = regs.copy()
    if numerics():
        if cmd == "reset_reduce":
            start[...] = scan.CUMULATIVE_OPS.get(rop.name, np.nan)
        elif cmd == "load_reduce":
            start[...] = np.asarray(column(imm1, dst.shape[0]), dtype=np.float32).reshape(-1)
    scan.tensor_scalar_cumulative(dst, src, alu(op0), imm0, rop, start, api)
    regs[...] = start
    acc.mark_written(dst)
