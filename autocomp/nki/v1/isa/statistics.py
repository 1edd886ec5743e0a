"""The v1 ISA's Vector-engine scans and statistics along each partition: tensor_tensor_scan,
tensor_scalar_reduce, bn_stats and bn_aggr."""

from __future__ import annotations

from autocomp.nki import dtypes as _dt
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops import scan as _scan
from autocomp.nki.ops import statistics as _stats
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.tile import Tile
from autocomp.nki.v1.isa.common import maybe_operand, result


def tensor_tensor_scan(data0, data1, initial, op0, op1, reverse0=False, reverse1=False, *, dtype=None, mask=None,
                       **kwargs) -> Tile:
    api = "nisa.tensor_tensor_scan"
    a, b = _operand(data0, api, "data0"), _operand(data1, api, "data1")
    out = result(a.shape, dtype or _dt.promote(a.dtype, b.dtype))
    _scan.tensor_tensor_scan(out, a, b, maybe_operand(initial, api, "initial"), _alu_op(op0, api, "op0"),
                              _alu_op(op1, api, "op1"), api, reverse0=reverse0, reverse1=reverse1,
                              mask=check_mask(mask))
    return out


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
