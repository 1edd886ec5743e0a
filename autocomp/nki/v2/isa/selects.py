"""The Vector engine's selects: select_reduce, range_select and tensor_copy_predicated."""

from __future__ import annotations

from autocomp.nki.alu import alu
from autocomp.nki.ops import selection as sel
from autocomp.nki.ops.operands import alu_op
from autocomp.nki.targets_info import fp32
from autocomp.nki.tile import Tile
from autocomp.nki.v2 import accumulate as acc
from autocomp.nki.v2.calls import dst_tile, isa_call, src_tile
from autocomp.nki.v2.enums import reduce_cmd, reduce_command
from autocomp.nki.v2.language import convenience as _nl

_isa = isa_call("nisa")


@_isa
def select_reduce(dst, predicate, on_true, on_false, reduce_res=None, reduce_cmd=reduce_cmd.idle,
                  reduce_op=_nl.maximum, reverse_pred=False, name=None):
    """``dst = where(predicate, on_true, on_false)`` with an optional max into reduce_res."""
    api = "nisa.select_reduce"
    dst = dst_tile(dst, api)
    on_false = src_tile(on_false, api, "on_false") if isinstance(on_false, Tile) else on_false
    sel.select_reduce(dst, src_tile(predicate, api, "predicate"), src_tile(on_true, api, "on_true"), on_false, api,
                      reduce_res=reduce_res, reduce_cmd=reduce_command(reduce_cmd, api),
                      reduce_op=alu_op(reduce_op, api, "reduce_op") if reduce_op is not None else alu("maximum"),
                      reverse_pred=bool(reverse_pred))
    acc.mark_written(dst, reduce_res)


@_isa
def range_select(dst, on_true_tile, comp_op0, comp_op1, bound0, bound1, reduce_cmd=reduce_cmd.reset_reduce,
                 reduce_res=None, reduce_op=_nl.maximum, range_start=0, on_false_value=fp32.min, name=None):
    api = "nisa.range_select"
    dst = dst_tile(dst, api)
    sel.range_select(dst, src_tile(on_true_tile, api, "on_true_tile"), alu(comp_op0), alu(comp_op1), bound0, bound1,
                     api, reduce_cmd=reduce_command(reduce_cmd, api), reduce_res=reduce_res,
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
