"""GpSimd-engine instructions: iota, affine_select, partition reduction, local gather, sequence bounds.

The GpSimd engine reads and writes SBUF only; its instructions pay a start-up
cost of about 150 cycles, which the cost model applies to the opcodes below.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import AluOp
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    POOL,
    SBUF,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
    require_nc,
    tile_checks,
)
from autocomp.nki.ops.operands import compute_tile, reduced_mask, require_dtype, require_op
from autocomp.nki.ops.reduce import reduce_values
from autocomp.nki.tile import Tile

PARTITIONS_PER_CORE = 16
_GATHER_WIDTHS = (1, 2, 4, 8, 16, 32)
_GATHER_MAX_INDICES = 4096


def _sbuf(t: Tile, api: str, arg: str) -> Tile:
    return compute_tile(t, api, arg, allowed=(SBUF,))


def iota_values(dst: Tile, values: np.ndarray | None, api: str, mask: Mask | None = None):
    """Write index values (computed in int32, then cast to dst's dtype) into an SBUF tile."""
    _sbuf(dst, api, "dst")
    if numerics():
        v = np.broadcast_to(np.asarray(values, dtype=np.int64), dst.shape).astype(np.int32)
        dst.write(dt.cast_to(v, dst.dtype), mask)
    else:
        dst.alloc.mark_written()
    return record("IOTA", POOL, api, accesses(dst, mask=mask), (), dst.shape[0], free_size(dst), None,
                  producer_of=dst, mask=mask)


def _narrow_or_float(d: np.dtype) -> bool:
    return dt.is_float(d) or (dt.is_int(d) and d.itemsize <= 2)


def affine_select(dst: Tile, predicate: np.ndarray, on_true: Tile, on_false_value, api: str,
                  mask: Mask | None = None, on_true_in=(SBUF,)):
    """``dst = predicate ? on_true : on_false_value`` with a predicate computed from index expressions.
    ``on_true_in``: the memories on_true_tile may be in (the legacy dialect also takes PSUM)."""
    compute_tile(on_true, api, "on_true_tile", allowed=on_true_in)
    _sbuf(dst, api, "dst")
    for t, arg in ((on_true, "on_true_tile"), (dst, "dst")):
        require_dtype(t, _narrow_or_float, api, arg, "a float or 8/16-bit integer type")
    if isinstance(on_false_value, Tile) or not isinstance(on_false_value, (int, float, np.number)):
        raise_error("err_invalid_argument",
                    f"{api}: on_false_value must be a float32 constant, got {type(on_false_value).__name__}; "
                    "use nl.where to select from a tile")
    if on_true.shape[0] != dst.shape[0] or free_size(on_true) != free_size(dst):
        raise_error("err_invalid_argument",
                    f"{api}: on_true_tile {list(on_true.shape)} and the result {list(dst.shape)} must match")
    try:
        pred = np.broadcast_to(predicate, on_true.shape)
    except ValueError:
        raise_error("err_invalid_argument",
                    f"{api}: the predicate covers {list(np.shape(predicate))} but on_true_tile is "
                    f"{list(on_true.shape)}; build it from index expressions over the tile's own grid")
    if numerics():
        v = compute_values(on_true, mask)
        r = np.where(pred, v, np.float32(on_false_value))
        dst.write(r.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    return record("AFFINE_SELECT", POOL, api, accesses(dst, mask=mask), accesses(on_true, mask=mask),
                  dst.shape[0], free_size(dst), None, producer_of=dst, mask=mask)


_PARTITION_REDUCE_OPS = ("add", "maximum", "bitwise_or", "bitwise_and")


def tensor_partition_reduce(dst: Tile, data: Tile, op: AluOp, api: str, mask: Mask | None = None):
    """Reduce across partitions: ``dst[1, ...] = op over data[P, ...]``."""
    _sbuf(data, api, "data")
    _sbuf(dst, api, "dst")
    require_op(op, _PARTITION_REDUCE_OPS, api, "op")
    if op.bitvec:
        require_dtype(data, dt.is_int, api, "data", f"an integer type for nl.{op.name}")
    if dst.shape[0] != 1 or free_size(dst) != free_size(data):
        raise_error("err_invalid_argument",
                    f"{api}: the result must be [1, {free_size(data)}] for data {list(data.shape)}, "
                    f"got {list(dst.shape)}")
    out_mask = reduced_mask(mask, data.shape, (0,))
    if numerics():
        r = reduce_values(op, compute_values(data, mask), (0,), True, mask)
        dst.write(r.reshape(dst.shape), _reshaped(out_mask, dst.shape))
    else:
        dst.alloc.mark_written()
    return record("PARTITION_REDUCE", POOL, api, accesses(dst), accesses(data, mask=mask), data.shape[0],
                  free_size(data), {"op": op.name}, producer_of=dst)


def _reshaped(mask: Mask | None, shape: tuple[int, ...]) -> Mask | None:
    return None if mask is None else Mask(mask.values.reshape(shape))


def local_gather(dst: Tile, src: Tile, index: Tile, api: str, num_elem_per_idx: int = 1,
                 num_valid_indices: int | None = None, mask: Mask | None = None):
    """Per GpSimd core (16 partitions): gather ``num_elem_per_idx`` elements at each flattened index.

    Indices come from the core's own 16 partitions, flattened partition-first, and
    address elements of the flattened free dimension of ``src`` in every partition
    of that core.
    """
    for t, arg in ((src, "src_buffer"), (index, "index"), (dst, "dst")):
        _sbuf(t, api, arg)
    p = src.shape[0]
    if index.shape[0] != p:
        raise_error("err_num_partition_mismatch",
                    f"{api}: src_buffer has {p} partitions and index {index.shape[0]}; they must match")
    if p % PARTITIONS_PER_CORE:
        raise_error("err_invalid_argument",
                    f"{api}: the partition count {p} must be a multiple of 16 (one GpSimd core serves 16)")
    if num_elem_per_idx not in _GATHER_WIDTHS:
        raise_error("err_invalid_argument",
                    f"{api}: num_elem_per_idx={num_elem_per_idx} must be one of {list(_GATHER_WIDTHS)}")
    if index.dtype != dt.uint16:
        raise_error("err_unsupported_dtype", f"{api}: index must be uint16, got {dt.dtype_name(index.dtype)}")
    per_core = free_size(index) * PARTITIONS_PER_CORE
    valid = per_core if num_valid_indices is None else int(num_valid_indices)
    if not 0 < valid <= min(per_core, _GATHER_MAX_INDICES):
        raise_error("err_invalid_argument",
                    f"{api}: num_valid_indices={valid} must be in [1, {min(per_core, _GATHER_MAX_INDICES)}] "
                    f"(the indices one core holds, at most {_GATHER_MAX_INDICES})")
    if dst.shape[0] != p or free_size(dst) != valid * num_elem_per_idx or dst.dtype != src.dtype:
        raise_error("err_invalid_argument",
                    f"{api}: the result must be [{p}, {valid}, {num_elem_per_idx}] of {dt.dtype_name(src.dtype)}")
    if numerics():
        dst.write(_gather_values(src, index, num_elem_per_idx, valid, api).reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    return record("GATHER", POOL, api, accesses(dst, mask=mask), accesses(src, index), p,
                  valid * num_elem_per_idx, {"num_elem_per_idx": num_elem_per_idx, "num_valid_indices": valid},
                  producer_of=dst, mask=mask)


def _gather_values(src: Tile, index: Tile, width: int, valid: int, api: str) -> np.ndarray:
    p = src.shape[0]
    values = src.read().reshape(p, -1)
    idx = index.read().astype(np.int64).reshape(p // PARTITIONS_PER_CORE, PARTITIONS_PER_CORE, -1)
    flat = idx.transpose(0, 2, 1).reshape(idx.shape[0], -1)[:, :valid]  # partition-first per core
    pos = flat[:, :, None] + np.arange(width)  # [cores, valid, width]
    if pos.min() < 0 or pos.max() >= values.shape[1]:
        raise_error("err_runtime_out_of_bounds",
                    f"{api}: gather index {int(flat.max())} (+{width} elements) is outside the "
                    f"{values.shape[1]} elements per partition of src_buffer")
    core_of_row = np.arange(p) // PARTITIONS_PER_CORE
    return values[np.arange(p)[:, None, None], pos[core_of_row]]


def n_gather(dst: Tile, data: Tile, indices: Tile, api: str):
    """Per partition: ``dst[p, j] = data[p, indices[p, j]]`` over data's flattened free dims (uint32 indices)."""
    for t, arg in ((dst, "dst"), (data, "data"), (indices, "indices")):
        on_chip(t, api, arg, allowed=(SBUF,))
        tile_checks(t, api, arg)
    p = data.shape[0]
    if indices.dtype != dt.uint32:
        raise_error("err_unsupported_dtype", f"{api}: indices must be uint32, got {dt.dtype_name(indices.dtype)}")
    if dst.dtype != data.dtype:
        raise_error("err_unsupported_dtype", f"{api}: dst must have data's dtype {dt.dtype_name(data.dtype)}")
    if indices.shape[0] != p or dst.shape[0] != p or free_size(dst) != free_size(indices):
        raise_error("err_invalid_argument",
                    f"{api}: data {list(data.shape)}, indices {list(indices.shape)} and dst {list(dst.shape)} need "
                    "the same partitions, and dst as many elements per partition as indices")
    if numerics():
        idx = indices.read().astype(np.int64).reshape(p, -1)
        if idx.min() < 0 or idx.max() >= free_size(data):
            raise_error("err_runtime_out_of_bounds",
                        f"{api}: index {int(idx.max())} is outside the {free_size(data)} elements per partition")
        values = data.read().reshape(p, -1)
        dst.write(np.take_along_axis(values, idx, axis=1).reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    record("GATHER", POOL, api, accesses(dst), accesses(data, indices), p, free_size(dst), {"kind": "n_gather"})


def sequence_bounds(dst: Tile, segment_ids: Tile, api: str):
    """For each element: [start, end) of its segment; padding (id 0) gets [n, -1]."""
    _sbuf(segment_ids, api, "segment_ids")
    _sbuf(dst, api, "dst")
    for t, arg in ((segment_ids, "segment_ids"), (dst, "dst")):
        require_dtype(t, lambda d: d in (dt.float32, dt.int32), api, arg, "float32 or int32")
    n = free_size(segment_ids)
    if segment_ids.shape[0] != 1 or dst.shape[0] != 1 or free_size(dst) != 2 * n:
        raise_error("err_invalid_argument",
                    f"{api}: segment_ids must be [1, n] and the result [1, 2, n]; got {list(segment_ids.shape)} "
                    f"and {list(dst.shape)}")
    if numerics():
        dst.write(_bounds(compute_values(segment_ids).reshape(n)).reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    return record("SEQUENCE_BOUNDS", POOL, api, accesses(dst), accesses(segment_ids), 1, n, None,
                  producer_of=dst)


def _bounds(s: np.ndarray) -> np.ndarray:
    n = s.shape[0]
    pos = np.arange(n)
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = s[1:] != s[:-1]
    starts = np.maximum.accumulate(np.where(new_run, pos, 0))
    run_end = np.ones(n, dtype=bool)
    run_end[:-1] = s[:-1] != s[1:]
    ends = np.minimum.accumulate(np.where(run_end, pos + 1, n + 1)[::-1])[::-1]
    pad = s == 0
    return np.stack([np.where(pad, n, starts), np.where(pad, -1, ends)]).astype(np.float32)


def nonzero_with_count(dst: Tile, src: Tile, index_offset: int, padding_val: int, api: str):
    """On the first partition of each GpSimd core (0, 16, ..., 112): the indices (+ index_offset) of src's
    nonzero elements, then padding_val, then their count; dst's other partitions are left as they are."""
    require_nc(3, api)
    _sbuf(src, api, "src")
    _sbuf(dst, api, "dst")
    require_dtype(src, lambda d: d in (dt.float32, dt.int32), api, "src", "float32 or int32")
    require_dtype(dst, lambda d: d == dt.int32, api, "dst", "int32")
    p, n = src.shape[0], free_size(src)
    if dst.shape[0] != p or free_size(dst) != n + 1:
        raise_error("err_invalid_argument",
                    f"{api}: dst must be [{p}, {n + 1}] (one more element than src {list(src.shape)} for the count), "
                    f"got {list(dst.shape)}")
    for value, arg in ((index_offset, "index_offset"), (padding_val, "padding_val")):
        if isinstance(value, (bool, Tile)) or not isinstance(value, (int, np.integer)) or \
                not -2 ** 31 <= int(value) < 2 ** 31:
            raise_error("err_invalid_argument", f"{api}: {arg} must be an int32 constant, got {value!r}")
    rows = np.arange(0, p, PARTITIONS_PER_CORE)
    if numerics():
        v = compute_values(src).reshape(p, n)
        out = np.full((p, n + 1), int(padding_val), dtype=np.int64)
        for r in rows:
            idx = np.flatnonzero(v[r])
            out[r, :idx.size] = idx + int(index_offset)
            out[r, n] = idx.size
        written = np.zeros((p, n + 1), dtype=bool)
        written[rows] = True
        dst.write(out.astype(np.int32).reshape(dst.shape), Mask(written.reshape(dst.shape)))
    else:
        dst.alloc.mark_written()
    return record("NONZERO_WITH_COUNT", POOL, api, accesses(dst), accesses(src), p, n, None, producer_of=dst)


def topk(val_dst: Tile, idx_dst: Tile, src: Tile, n: int, api: str, descending: bool = False):
    """Per 16-partition group: the k largest of the group's first ``n`` bf16 values, read in the snake layout
    (element e at partition e % 16, position e // 16), written in the same layout with their indices (uint32).
    k is val_dst's free size; the results are in ascending order (descending with ``descending``)."""
    for t, arg in ((src, "src"), (val_dst, "val_dst"), (idx_dst, "idx_dst")):
        _sbuf(t, api, arg)
    require_dtype(src, lambda d: d == dt.bfloat16, api, "src", "bfloat16")
    require_dtype(val_dst, lambda d: d == dt.bfloat16, api, "val_dst", "bfloat16")
    require_dtype(idx_dst, lambda d: d == dt.uint32, api, "idx_dst", "uint32")
    p, width, k = src.shape[0], free_size(src), free_size(val_dst)
    if p % PARTITIONS_PER_CORE or val_dst.shape[0] != p or idx_dst.shape[0] != p:
        raise_error("err_invalid_argument",
                    f"{api}: src, val_dst and idx_dst need the same partition count, a multiple of 16; got "
                    f"{src.shape[0]}, {val_dst.shape[0]}, {idx_dst.shape[0]}")
    if free_size(idx_dst) != k:
        raise_error("err_invalid_argument", f"{api}: idx_dst {list(idx_dst.shape)} must match val_dst "
                                            f"{list(val_dst.shape)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 8 <= int(n) < 65536:
        raise_error("err_invalid_argument", f"{api}: n must be an integer in [8, 65536), got {n!r}")
    n = int(n)
    if not 1 <= k < 32768 or k > n:
        raise_error("err_invalid_argument", f"{api}: k (val_dst's free size {k}) must be in [1, 32768) and <= n={n}")
    if width * PARTITIONS_PER_CORE < n:
        raise_error("err_invalid_argument", f"{api}: src's free size {width} holds {width * 16} snake elements per "
                                            f"group, fewer than n={n} (it needs at least ceil(n / 16))")
    if numerics():
        groups = p // PARTITIONS_PER_CORE
        v = compute_values(src).reshape(groups, PARTITIONS_PER_CORE, width)
        snake = v.transpose(0, 2, 1).reshape(groups, -1)[:, :n]  # element e = partition e % 16, position e // 16
        top = np.argsort(-snake, axis=1, kind="stable")[:, :k]  # the k largest, largest first (ties: lower index)
        out_idx = top if descending else top[:, ::-1]
        out_val = np.take_along_axis(snake, out_idx, axis=1)
        vals = np.zeros((groups, PARTITIONS_PER_CORE, k), dtype=np.float32)
        idxs = np.zeros((groups, PARTITIONS_PER_CORE, k), dtype=np.int64)
        written = np.zeros((groups, PARTITIONS_PER_CORE, k), dtype=bool)
        j = np.arange(k)
        vals[:, j % PARTITIONS_PER_CORE, j // PARTITIONS_PER_CORE] = out_val
        idxs[:, j % PARTITIONS_PER_CORE, j // PARTITIONS_PER_CORE] = out_idx
        written[:, j % PARTITIONS_PER_CORE, j // PARTITIONS_PER_CORE] = True
        val_dst.write(vals.reshape(val_dst.shape), Mask(written.reshape(val_dst.shape)))
        idx_dst.write(idxs.astype(np.uint32).reshape(idx_dst.shape), Mask(written.reshape(idx_dst.shape)))
    else:
        val_dst.alloc.mark_written()
        idx_dst.alloc.mark_written()
    return record("TOPK", POOL, api, accesses(val_dst, idx_dst), accesses(src), p, n, {"n": n, "k": k},
                  producer_of=val_dst)
