"""The v1 ISA's Vector-engine selects (select_reduce, range_select, tensor_copy_predicated) and
dropout."""

from __future__ import annotations

import numpy as np

from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.targets_info import fp32 as _fp32
from autocomp.nki.tile import Tile
from autocomp.nki.v1.isa.common import maybe_operand, reduce_cmd_name, result
from autocomp.nki.v1.isa.enums import reduce_cmd


def select_reduce(*, dst, predicate, on_true, on_false, reduce_res=None, reduce_cmd=reduce_cmd.idle, reduce_op=np.amax,
                  reverse_pred=False, mask=None, dtype=None, **kwargs) -> Tile:
    """``dst = where(predicate, on_true, on_false)``, optionally max-reducing each partition into reduce_res."""
    api = "nisa.select_reduce"
    dst = _operand(dst, api, "dst")
    _sel.select_reduce(dst, _operand(predicate, api, "predicate"), _operand(on_true, api, "on_true"),
                       maybe_operand(on_false, api, "on_false"), api,
                       reduce_res=maybe_operand(reduce_res, api, "reduce_res"), reduce_cmd=reduce_cmd_name(reduce_cmd),
                       reduce_op=_alu_op(reduce_op, api, "reduce_op"), reverse_pred=reverse_pred,
                       mask=check_mask(mask))
    return dst


def range_select(*, on_true_tile, comp_op0, comp_op1, bound0, bound1, reduce_cmd=reduce_cmd.idle, reduce_res=None,
                 reduce_op=np.amax, range_start=0, on_false_value=_fp32.min, mask=None, dtype=None,
                 **kwargs) -> Tile:
    """Keep elements whose free index (+ range_start) lies within both bounds; NeuronCore-v3+ only."""
    api = "nisa.range_select"
    on_true = _operand(on_true_tile, api, "on_true_tile")
    out = result(on_true.shape, dtype or on_true.dtype)
    _sel.range_select(out, on_true, _alu_op(comp_op0, api, "comp_op0"), _alu_op(comp_op1, api, "comp_op1"),
                      maybe_operand(bound0, api, "bound0"), maybe_operand(bound1, api, "bound1"), api,
                      reduce_cmd=reduce_cmd_name(reduce_cmd), reduce_res=maybe_operand(reduce_res, api, "reduce_res"),
                      reduce_op=_alu_op(reduce_op, api, "reduce_op"), range_start=int(range_start),
                      on_false_value=on_false_value, mask=check_mask(mask))
    return out


def tensor_copy_predicated(*, src, dst, predicate, reverse_pred=False, mask=None, dtype=None, **kwargs) -> None:
    """Copy ``src`` into ``dst`` where ``predicate`` is non-zero (in place)."""
    api = "nisa.tensor_copy_predicated"
    _sel.tensor_copy_predicated(_operand(dst, api, "dst"), maybe_operand(src, api, "src"),
                                _operand(predicate, api, "predicate"), api, reverse_pred=reverse_pred,
                                mask=check_mask(mask))


def dropout(data, prob, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Zero elements of ``data`` with probability ``prob`` (a number or a [P, 1] tile)."""
    api = "nisa.dropout"
    data = _operand(data, api, "data")
    out = result(data.shape, dtype or data.dtype)
    _rng.dropout(out, data, maybe_operand(prob, api, "prob"), api, mask=check_mask(mask))
    return out
