"""``neuronxcc.nki.language`` (legacy dialect), continued: selects, broadcasts, cross-iteration and
cross-instance reductions, random numbers, and the composite softmax / rms_norm / var.

Composites record every instruction they lower to, so the cost model prices them
like the hand-written sequence. ``legacy/language.py`` re-exports ``__all__``.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ACT_FUNCS, ALU_OPS, ActFunc, act
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask, check_mask
from autocomp.nki.legacy import cross_reduce as _cross
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import extra as _extra
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.extra import BN_STATS_FMAX
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.ops.operands import is_scalar as _is_scalar
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, DVE, HBM, PSUM, SBUF

__all__ = [
    "where", "broadcast_to", "loop_reduce", "all_reduce", "dropout", "random_seed", "rand", "softmax", "rms_norm",
    "var", "expand_dims", "static_cast", "atomic_rmw", "tan",
]

ACT_FUNCS.setdefault("tan", ActFunc("tan", np.tan))


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def _f32(shape) -> Tile:
    return _sbuf(shape, _dt.float32)


# ---------------------------------------------------------------- selection and broadcasting


def where(condition, x, y, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Elements of ``x`` where ``condition`` is non-zero, else of ``y`` (tiles or numbers); a Vector select."""
    api = "nl.where"
    cond = _operand(condition, api, "condition")
    x = _operand(x, api, "x") if isinstance(x, Tile) else x
    y = _operand(y, api, "y") if isinstance(y, Tile) else y
    tiles = [t for t in (cond, x, y) if isinstance(t, Tile)]
    shape = max((t.shape for t in tiles), key=lambda s: (_free_size_of(s), len(s)))
    out = _sbuf(shape, dtype or _select_dtype(x, y))
    _sel.select(out, cond, x, y, api, mask=check_mask(mask))
    return out


def _free_size_of(shape) -> int:
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def _select_dtype(x, y) -> np.dtype:
    dts = [t.dtype for t in (x, y) if isinstance(t, Tile)]
    if not dts:
        return _dt.float32
    out = dts[0] if len(dts) == 1 else _dt.promote(*dts)
    if not _dt.is_float(out) and any(isinstance(v, (float, np.floating)) for v in (x, y)):
        return _dt.float32  # an int tile and a float constant give float, as in NKI's promotion
    return out


def broadcast_to(x, shape, **kwargs) -> Tile:
    """A new SBUF tile of ``shape`` repeating ``x`` along its size-1 dimensions.

    Free dimensions broadcast in a Vector copy; a one-partition ``x`` broadcasts along
    partitions through a ones-matmul on the Tensor engine.
    """
    api = "nl.broadcast_to"
    x = _operand(x, api, "x")
    shape = tuple(int(s) for s in shape)
    if len(shape) != len(x.shape) or any(s != d and d != 1 for s, d in zip(shape, x.shape, strict=True)):
        raise_error("err_invalid_argument",
                    f"{api}: cannot broadcast {list(x.shape)} to {list(shape)}; the shapes need the same rank and "
                    "x may differ only in dimensions of size 1 (reshape or index x first)")
    if shape[0] > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"{api}: {shape[0]} partitions exceed the architecture limit of 128")
    out = _sbuf(shape, x.dtype)
    if x.shape[0] == shape[0]:
        _move.broadcast_copy(out, x, api, engine=ACT if x.buffer == PSUM else DVE)
        return out
    if x.buffer != SBUF:
        staged = _sbuf(x.shape, x.dtype)
        _data.tensor_copy(staged, x, api, engine=ACT)
        x = staged
    _move.partition_broadcast(out, x, api)
    return out


def expand_dims(data, axis) -> Tile:
    """A view of ``data`` with new size-1 dimensions after its last one (no instruction)."""
    api = "nl.expand_dims"
    t = _operand(data, api, "data")
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    ndim = len(t.shape) + len(axes)
    positions = sorted(int(a) + ndim if int(a) < 0 else int(a) for a in axes)
    if positions != list(range(len(t.shape), ndim)):
        raise_error("err_invalid_argument",
                    f"{api}: axis {list(axes)} is not supported; new axes can only follow the last dimension of the "
                    f"{len(t.shape)}-D tile (axis={len(t.shape)}, ...)")
    shape = tuple(t.shape) + (1,) * len(axes)
    if t.arrays is not None:
        view = Tile(t.alloc, None, arrays=tuple(a.reshape(a.shape + (1,) * len(axes)) for a in t.arrays),
                    shape=shape)
        view.oob = t.oob
        return view
    spec = list(t.spec) if t.spec is not None else [(0, 1, n) for n in t.alloc.shape]
    return Tile(t.alloc, spec, perm=t.perm, shape=shape)


# ---------------------------------------------------------------- reductions across iterations and instances


def loop_reduce(x, op, loop_indices, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Reduce ``x`` across the iterations of the loops in ``loop_indices`` (a Vector op per iteration)."""
    api = "nl.loop_reduce"
    x = _operand(x, api, "x")
    out = _sbuf(x.shape, dtype or x.dtype)
    _cross.loop_reduce(out, x, _alu_op(op, api), loop_indices, api, mask=check_mask(mask))
    return out


def all_reduce(x, op, program_axes, *, dtype=None, mask=None, parallel_reduce=True, asynchronous=False,
               **kwargs) -> Tile:
    """Reduce ``x`` across the SPMD instances along ``program_axes`` (see cross_reduce for the sequential caveat)."""
    api = "nl.all_reduce"
    x = _operand(x, api, "x")
    out = _sbuf(x.shape, dtype or x.dtype)
    _cross.all_reduce(out, x, _alu_op(op, api), program_axes, api, mask=check_mask(mask))
    return out


# ---------------------------------------------------------------- random numbers


def random_seed(seed, *, mask=None, **kwargs) -> None:
    """Seed the random number generator used by nl.rand and dropout."""
    _rng.set_seed(_operand(seed, "nl.random_seed", "seed") if isinstance(seed, Tile) else seed, "nl.random_seed")


def rand(shape, dtype=_dt.float32, **kwargs) -> Tile:
    """A new SBUF tile of values drawn uniformly from [0, 1)."""
    out = _sbuf(shape, dtype)
    _rng.uniform(out, "nl.rand")
    return out


def dropout(x, rate, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Zero elements of ``x`` with probability ``rate`` (a number or a one-element tile)."""
    api = "nl.dropout"
    x = _operand(x, api, "x")
    if isinstance(rate, Tile):
        rate = _operand(rate, api, "rate")
        if rate.shape[0] == 1 and x.shape[0] > 1 and _free_size(rate) == 1:
            rate = broadcast_to(rate, (x.shape[0],) + (1,) * (len(rate.shape) - 1))
    out = _sbuf(x.shape, dtype or x.dtype)
    _rng.dropout(out, x, rate, api, mask=check_mask(mask))
    return out


# ---------------------------------------------------------------- composites


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
            _extra.bn_stats(stats if chunks == 1 else stats[:, 6 * c:6 * c + 6], part, api, mask=part_mask)
        mean_var = _f32((x.shape[0], 2))
        _extra.bn_aggr(mean_var, stats, api)
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


def tan(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Tangent, element-wise, on the Scalar engine."""
    x = _operand(x, "nl.tan", "x")
    out = _sbuf(x.shape, dtype or x.dtype)
    _ew.activation(out, ACT_FUNCS["tan"], x, "nl.tan", mask=check_mask(mask))
    return out


# ---------------------------------------------------------------- host helper and HBM read-modify-write


def static_cast(arr, dtype):
    """Host-side cast of a numpy array (or scalar) to an NKI dtype."""
    return np.asarray(arr).astype(_dt.as_dtype(dtype))


def atomic_rmw(dst, value, op, *, mask=None, **kwargs) -> None:
    """``dst = op(dst, value)`` on an HBM tensor through the DMA engines (only add is supported)."""
    api = "nl.atomic_rmw"
    mask = check_mask(mask)
    dst = _operand(dst, api, "dst")
    rmw = _alu_op(op, api)
    if rmw.name != "add":
        raise_error("err_unsupported_operation", f"{api}: only np.add / nl.add is supported, got nl.{rmw.name}")
    if dst.buffer != HBM:
        raise_error("err_unsupported_memory", f"{api}: dst must be an HBM tensor, got {dst.buffer.upper()}")
    if _is_scalar(value):
        filled = _sbuf(dst.shape if len(dst.shape) >= 2 else (dst.shape[0], 1), dst.dtype)
        _data.memset(filled, value, api)
        value = filled
    value = _operand(value, api, "value")
    summed = None
    if _current().numerics:
        with np.errstate(all="ignore"):
            summed = dst.read(mask).astype(np.float32) + value.read(mask).astype(np.float32).reshape(dst.shape)
    ins = _data.dma_copy(dst, value, api, mask=mask, src_values=summed)
    ins.attrs["rmw"] = rmw.name
