"""GpSimd instructions: index patterns (iota, affine_select), partition reductions, gathers, sequence bounds,
nonzero_with_count and topk."""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki.alu import alu
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import gpsimd
from autocomp.nki.ops.common import free_size, numerics
from autocomp.nki.ops.operands import alu_op
from autocomp.nki.tile import Tile
from autocomp.nki.v2.calls import dst_tile, isa_call, src_tile
from autocomp.nki.v2.language import convenience as _nl

_isa = isa_call("nisa")


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
def affine_select(dst, pattern, channel_multiplier, on_true_tile, on_false_value, cmp_op=_nl.equal, offset=0,
                  name=None):
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
    gpsimd.n_gather(dst, data, indices, api)


@_isa
def nonzero_with_count(dst, src, index_offset=0, padding_val=-1, name=None):
    """On partitions 0, 16, ..., 112: the indices (+ index_offset) of src's nonzero elements, padding_val, and
    their count last (GpSimd, NeuronCore-v3+)."""
    api = "nisa.nonzero_with_count"
    gpsimd.nonzero_with_count(dst_tile(dst, api), src_tile(src, api, "src"), index_offset, padding_val, api)


@_isa
def topk(val_dst, idx_dst, src, n, name=None, *, sorted=False):  # noqa: A002 - NKI's parameter name
    """The k largest of each 16-partition group's n-element snake (k = val_dst's free size) and their indices,
    in the snake layout, ascending (``sorted=True``: largest first). GpSimd engine."""
    api = "nisa.topk"
    idx = dst_tile(idx_dst, api)
    gpsimd.topk(dst_tile(val_dst, api), idx, src_tile(src, api, "src"), n, api, descending=bool(sorted))
