"""Composite normalisations: ``nl.softmax``, ``nl.rms_norm`` and ``nl.var``.

Each records every instruction it lowers to, so the cost model prices it like
the hand-written sequence.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ALU_OPS, act
from autocomp.nki.indexing import Mask, check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops import statistics as _stats
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.statistics import BN_STATS_FMAX
from autocomp.nki.tile import Tile
from autocomp.nki.trace import DVE, SBUF


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def _f32(shape) -> Tile:
    return _sbuf(shape, _dt.float32)


def _trailing_axes(x: Tile, axis, api: str) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
    """(axes, reduced keepdims shape, whether every free axis is reduced)."""
    axes = _red.normalize_axes(axis, len(x.shape), api, trailing=True)
    kept = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
    return axes, kept, len(axes) == len(x.shape) - 1


def softmax(x, axis, *, dtype=None, compute_dtype=None, mask=None, **kwargs) -> Tile:
    """exp(x - max) / sum(exp(x - max)) along ``axis``: max-reduce, exp (+ sum), reciprocal, multiply."""
    api = "nl.softmax"
    x = _operand(x, api, "x")
    mask = check_mask(mask)
    axes, kept, whole_rows = _trailing_axes(x, axis, api)
    inner = compute_dtype or dtype or _dt.float32
    neg_max = _f32(kept)
    _red.tensor_reduce(neg_max, x, ALU_OPS["maximum"], axes, api, negate=True, mask=mask)
    e, total = _sbuf(x.shape, inner), _f32(kept)
    if whole_rows:
        _ew.activation(e, act("exp"), x, api, bias=neg_max, mask=mask, reduce_res=total, reduce_op=ALU_OPS["add"])
    else:
        shifted = _f32(x.shape)
        _ew.tensor_tensor(shifted, x, neg_max, ALU_OPS["add"], api, mask=mask)
        _ew.activation(e, act("exp"), shifted, api, mask=mask)
        _red.tensor_reduce(total, e, ALU_OPS["add"], axes, api, mask=mask)
    inv = _f32(kept)
    _ew.activation(inv, act("reciprocal"), total, api, engine=DVE, opcode="RECIPROCAL")
    out = _sbuf(x.shape, dtype or compute_dtype or x.dtype)
    _scale_rows(out, e, inv, whole_rows, api, mask)
    return out


def _scale_rows(out: Tile, data: Tile, factor: Tile, per_partition: bool, api: str, mask: Mask | None) -> None:
    if per_partition:
        _ew.tensor_scalar(out, data, ALU_OPS["multiply"], factor, api, mask=mask)
    else:
        _ew.tensor_tensor(out, data, factor, ALU_OPS["multiply"], api, mask=mask)


def rms_norm(x, w, axis, n, epsilon=1e-06, *, dtype=None, compute_dtype=None, mask=None, **kwargs) -> Tile:
    """``x / sqrt(sum(x^2) / n + epsilon) * w`` along ``axis``."""
    api = "nl.rms_norm"
    x, w = _operand(x, api, "x"), _operand(w, api, "w")
    mask = check_mask(mask)
    axes, kept, whole_rows = _trailing_axes(x, axis, api)
    inner = compute_dtype or dtype or _dt.float32
    sum_sq = _f32(kept)
    if whole_rows:
        _ew.activation(_f32(x.shape), act("square"), x, api, mask=mask, reduce_res=sum_sq, reduce_op=ALU_OPS["add"])
    else:
        sq = _f32(x.shape)
        _ew.tensor_tensor(sq, x, x, ALU_OPS["multiply"], api, mask=mask)
        _red.tensor_reduce(sum_sq, sq, ALU_OPS["add"], axes, api, mask=mask)
    mean_sq, rstd = _f32(kept), _f32(kept)
    _ew.tensor_scalar(mean_sq, sum_sq, ALU_OPS["multiply"], 1.0 / float(n), api, op1=ALU_OPS["add"],
                      operand1=float(epsilon))
    _ew.activation(rstd, act("rsqrt"), mean_sq, api)
    normed = _sbuf(x.shape, inner)
    _scale_rows(normed, x, rstd, whole_rows, api, mask)
    out = _sbuf(x.shape, dtype or compute_dtype or x.dtype)
    _ew.tensor_tensor(out, normed, w, ALU_OPS["multiply"], api, mask=mask)
    return out


def var(x, axis, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Population variance along ``axis``: bn_stats over 512-element chunks and one bn_aggr for whole rows."""
    api = "nl.var"
    x = _operand(x, api, "x")
    mask = check_mask(mask)
    axes, kept, whole_rows = _trailing_axes(x, axis, api)
    shape = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    out = _sbuf(shape if len(shape) >= 2 else (shape[0], 1), dtype or x.dtype)
    n = _free_size(x)
    chunks = math.ceil(n / BN_STATS_FMAX)
    if whole_rows and (chunks == 1 or (len(x.shape) == 2 and x.arrays is None)):
        stats = _f32((x.shape[0], 6 * chunks))
        for c in range(chunks):
            lo, hi = c * BN_STATS_FMAX, min(n, (c + 1) * BN_STATS_FMAX)
            part = x if chunks == 1 else x[:, lo:hi]
            part_mask = mask if chunks == 1 or mask is None else \
                Mask(np.broadcast_to(mask.values, x.shape)[:, lo:hi])
            _stats.bn_stats(stats if chunks == 1 else stats[:, 6 * c:6 * c + 6], part, api, mask=part_mask)
        mean_var = _f32((x.shape[0], 2))
        _stats.bn_aggr(mean_var, stats, api)
        _data.tensor_copy(out, mean_var[:, 1:2], api)
        return out
    # Any other layout: mean, centre, square, sum, scale (divisor: every element along the axes).
    count = int(np.prod([x.shape[d] for d in axes]))
    mean, centred, sq, total = _f32(kept), _f32(x.shape), _f32(x.shape), _f32(kept)
    _red.tensor_reduce(mean, x, ALU_OPS["add"], axes, api, mask=mask)
    _ew.tensor_scalar(mean, mean, ALU_OPS["multiply"], 1.0 / count, api)
    _ew.tensor_tensor(centred, x, mean, ALU_OPS["subtract"], api, mask=mask)
    _ew.tensor_tensor(sq, centred, centred, ALU_OPS["multiply"], api, mask=mask)
    _red.tensor_reduce(total, sq, ALU_OPS["add"], axes, api, mask=mask)
    _ew.tensor_scalar(out, total, ALU_OPS["multiply"], 1.0 / count, api)
    return out
