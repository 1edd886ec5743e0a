"""The v1 ISA's Vector-engine scans and statistics along each partition: tensor_tensor_scan,
tensor_scalar_cumulative, tensor_scalar_reduce, bn_stats and bn_aggr."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops import scan as _scan
from autocomp.nki.ops import statistics as _stats
from autocomp.nki.ops.common import numerics as _numerics
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.ops.operands import column as _column
from autocomp.nki.ops.operands import ctx_state as _ctx_state
from autocomp.nki.tile import Tile
from autocomp.nki.v1.isa.common import maybe_operand, reduce_cmd_name, result


def tensor_tensor_scan(data0, data1, initial, op0, op1, reverse0=False, reverse1=False, *, dtype=None, mask=None,
                       **kwargs) -> Tile:
    api = "nisa.tensor_tensor_scan"
    a, b = _operand(data0, api, "data0"), _operand(data1, api, "data1")
    out = result(a.shape, dtype or _dt.promote(a.dtype, b.dtype))
    _scan.tensor_tensor_scan(out, a, b, maybe_operand(initial, api, "initial"), _alu_op(op0, api, "op0"),
                              _alu_op(op1, api, "op1"), api, reverse0=reverse0, reverse1=reverse1,
                              mask=check_mask(mask))
    return out


def tensor_scalar_cumulative(src, op0, op1, imm0, imm1=None, reduce_cmd=None, dst=None, *, dtype=None, **kwargs):
    """Per partition ``reg = op1(op0(src[i], imm0), reg); dst[i] = reg`` on the Vector accumulators, which start at
    op1's identity (reset_reduce, the default), keep their value (reduce) or load imm1 (load_reduce).

    AWS's legacy example tests call it with ``dst=`` as the current dialect does; without ``dst`` a fresh
    tile is returned like every v1 ISA call.
    """
    api = "nisa.tensor_scalar_cumulative"
    src = _operand(src, api, "src")
    out = _operand(dst, api, "dst") if dst is not None else result(src.shape, dtype or src.dtype)
    cmd = reduce_cmd_name(reduce_cmd) if reduce_cmd is not None else "reset_reduce"
    if cmd not in ("reset_reduce", "reduce", "load_reduce"):
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be reset_reduce, reduce or load_reduce")
    if imm1 is None and cmd == "load_reduce":  # imm1 with another command is ignored (AWS's chain example)
        raise_error("err_invalid_argument", f"{api}: reduce_cmd=load_reduce needs imm1, the accumulator's "
                                            "starting value")
    p0 = out.access().partition_start
    regs = _ctx_state("dve_accumulators", lambda: np.full(128, np.nan, dtype=np.float32))[p0:p0 + out.shape[0]]
    start = regs.copy()
    if _numerics():
        if cmd == "reset_reduce":
            start[...] = _scan.CUMULATIVE_OPS.get(_alu_op(op1, api, "op1").name, np.nan)
        elif cmd == "load_reduce":
            start[...] = np.asarray(_column(maybe_operand(imm1, api, "imm1"), out.shape[0]),
                                    dtype=np.float32).reshape(-1)
    _scan.tensor_scalar_cumulative(out, src, _alu_op(op0, api, "op0"), maybe_operand(imm0, api, "imm0"),
                                   _alu_op(op1, api, "op1"), start, api)
    regs[...] = start
    return None if dst is not None else out


def bn_stats(data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Six statistics per partition: (count, mean, count*var) of the even and of the odd elements."""
    api = "nisa.bn_stats"
    data = _operand(data, api, "data")
    out = result((data.shape[0], 6), dtype or data.dtype)
    _stats.bn_stats(out, data, api, mask=check_mask(mask))
    return out


def bn_aggr(data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """(mean, variance) per partition from one or more concatenated bn_stats results."""
    api = "nisa.bn_aggr"
    data = _operand(data, api, "data")
    out = result((data.shape[0], 2), dtype or data.dtype)
    _stats.bn_aggr(out, data, api, mask=check_mask(mask))
    return out


def tensor_scalar_reduce(*, data, op0, operand0, reduce_op, reduce_res, reverse0=False, dtype=None, mask=None,
                         **kwargs) -> Tile:
    api = "nisa.tensor_scalar_reduce"
    data = _operand(data, api, "data")
    out = result(data.shape, dtype or data.dtype)
    _red.tensor_scalar_reduce(out, data, _alu_op(op0, api, "op0"), maybe_operand(operand0, api, "operand0"),
                                _alu_op(reduce_op, api, "reduce_op"), _operand(reduce_res, api, "reduce_res"), api,
                                reverse0=reverse0, mask=check_mask(mask))
    return out
