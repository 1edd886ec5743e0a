"""The v1 ISA's GpSimd instructions: iota, affine_select, partition reductions, local gathers, sequence
bounds."""

from __future__ import annotations

from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import IndexExpr, Mask, check_mask
from autocomp.nki.ops import gpsimd as _gpsimd
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.gpsimd import iota_values
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import PSUM, SBUF
from autocomp.nki.v1.isa.common import result


def iota(expr, dtype, *, mask=None, **kwargs) -> Tile:
    """Write the values of an affine index expression (``nl.arange``/``mgrid`` terms) into a tile."""
    api = "nisa.iota"
    if not isinstance(expr, IndexExpr):
        raise_error("err_invalid_argument", f"{api} takes an index expression built from nl.arange / nl.mgrid")
    shape = expr.grid or expr.shape  # an nl.mgrid component is dense over its grid
    shape = shape if len(shape) >= 2 else (shape[0], 1)
    out = _new_tile(shape, dtype, SBUF)
    iota_values(out, expr.values if _current().numerics else None, api, mask=check_mask(mask))
    return out


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
    out = result(on_true.shape, dtype or on_true.dtype)
    # The legacy docs put no memory restriction on on_true_tile, and deployed kernels select straight from the
    # PSUM result of a matmul (nki-samples' flash_attn_bwd), so PSUM is accepted here.
    _gpsimd.affine_select(out, values, on_true, on_false_value, api, mask=check_mask(mask), on_true_in=(SBUF, PSUM))
    return out


def tensor_partition_reduce(op, data, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Reduce ``data`` across its partitions into a one-partition tile (GpSimd engine)."""
    api = "nisa.tensor_partition_reduce"
    data = _operand(data, api, "data")
    out = result((1,) + tuple(data.shape[1:]), dtype or data.dtype)
    _gpsimd.tensor_partition_reduce(out, data, _alu_op(op, api), api, mask=check_mask(mask))
    return out


def local_gather(src_buffer, index, num_elem_per_idx=1, num_valid_indices=None, *, mask=None) -> Tile:
    """Gather within each GpSimd core's 16 partitions; the result is [P, num_valid_indices, num_elem_per_idx]."""
    api = "nisa.local_gather"
    src = _operand(src_buffer, api, "src_buffer")
    index = _operand(index, api, "index")
    per_core = _free_size(index) * _gpsimd.PARTITIONS_PER_CORE
    valid = per_core if num_valid_indices is None else int(num_valid_indices)
    out = result((src.shape[0], max(valid, 1), int(num_elem_per_idx)), src.dtype)
    _gpsimd.local_gather(out, src, index, api, int(num_elem_per_idx), num_valid_indices, mask=check_mask(mask))
    return out


def sequence_bounds(*, segment_ids, dtype=None) -> Tile:
    """[start, end) of each element's segment, as a [1, 2, n] tile (padding id 0 gets [n, -1])."""
    api = "nisa.sequence_bounds"
    seg = _operand(segment_ids, api, "segment_ids")
    out = result((1, 2, _free_size(seg)), dtype or seg.dtype)
    _gpsimd.sequence_bounds(out, seg, api)
    return out
