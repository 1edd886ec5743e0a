"""Data movement beyond plain copies: broadcasts, partition shuffles, DMA transposes, dynamic copies.

Broadcasting along partitions has no copy instruction: the compiler multiplies a
ones vector into PSUM on the Tensor engine [ARCH1], then copies PSUM back.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp import targets
from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops import data as data_ops
from autocomp.nki.ops.common import (
    ACT,
    DVE,
    PE,
    POOL,
    PSUM,
    SBUF,
    accesses,
    free_size,
    new_tile,
    numerics,
    on_chip,
    record,
    tile_checks,
)
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import Access

QUADRANT = 32
SHUFFLE_KEEP = 255  # shuffle_mask value that leaves a destination partition unmodified
_DMA_TRANSPOSE_AXES = {2: (1, 0), 3: (2, 1, 0), 4: (3, 1, 2, 0)}


def _values_for(dst: Tile, src: Tile) -> np.ndarray:
    v = src.read()
    if v.dtype != dst.dtype:
        v = dt.cast_to(v.astype(np.float32) if dt.is_float(v.dtype) else v, dst.dtype)
    return np.broadcast_to(v.reshape(src.shape), dst.shape)


def broadcast_copy(dst: Tile, src: Tile, api: str, engine: str = DVE, mask: Mask | None = None):
    """Copy ``src`` into ``dst``, repeating size-1 free dimensions (same partitions)."""
    on_chip(src, api, "src")
    tile_checks(dst, api, "dst")
    if src.shape[0] != dst.shape[0]:
        raise_error("err_num_partition_mismatch",
                    f"{api}: a free-dimension broadcast keeps the partitions; src has {src.shape[0]}, "
                    f"the result {dst.shape[0]}")
    if numerics():
        dst.write(_values_for(dst, src), mask)
    else:
        dst.alloc.mark_written()
    return record("TENSOR_COPY", engine, api, accesses(dst, mask=mask), accesses(src), dst.shape[0], free_size(dst),
                  {"broadcast": True}, producer_of=dst, mask=mask)


def partition_broadcast(dst: Tile, src: Tile, api: str):
    """Broadcast a one-partition ``src`` to ``dst``'s partitions: ones[1, P].T @ src into PSUM, then copy out.

    The values are copied bit-exactly (the ones-matmul is exact for every float the
    engine takes); the trace holds one MATMUL and one PSUM->SBUF copy per PSUM bank.
    Each pair records only the slice of ``src`` it reads and of ``dst`` it writes: with the
    whole row on every chunk, the chunks would look like repeats of the first one to the
    cost model's recomputed-values rule (docs/cost-model.md#mechanisms-and-their-sources).
    """
    ctx = current()
    on_chip(src, api, "src", allowed=(SBUF,))
    tile_checks(dst, api, "dst")
    if src.shape[0] != 1:
        raise_error("err_num_partition_mismatch",
                    f"{api}: only a one-partition tile broadcasts along partitions; src has {src.shape[0]}")
    p, n = dst.shape[0], free_size(src)
    ones = new_tile((1, p), src.dtype if dt.is_float(src.dtype) else dt.float32, SBUF, kind="constant", fill=1)
    chunk = ctx.spec.matmul_moving_limit(bf16_result=False)
    s_acc, d_acc = src.access(), dst.access()
    # dst's free dimensions as chunk-following (True) or repeated along a size-1 src dimension (False).
    d_follows = _follows_src(d_acc, dst.shape[1:], src.shape[1:]) if n > chunk else None
    first = None
    for start in range(0, n, chunk):
        width = min(chunk, n - start)
        psum = new_tile((p, width), dt.float32, PSUM)
        psum.alloc.mark_written()
        o_acc = ones.access()
        attrs = {"stationary_elems": p, "moving_elems": width, "contract": 1,
                 "fp32": dt.dtype_name(src.dtype) in ("float32", "tfloat32"), "accumulate": False,
                 "stationary_key": (o_acc.tensor, 0, 0, o_acc.pattern), "perf_mode": None, "onezero": True,
                 "transpose": False, "dtype": dt.dtype_name(src.dtype), "broadcast": True}
        s_part, d_part = s_acc, d_acc
        if n > chunk:
            s_part = _sub_region(s_acc, _range_box([c for _, c in s_acc.pattern], start, width))
            if d_follows is not None:
                d_part = _sub_region(d_acc, _range_box_of(d_acc, d_follows, start, width))
        ins = record("MATMUL", PE, api, accesses(psum), (o_acc, s_part), p, width, attrs)
        first = first or ins
        record("TENSOR_COPY", ACT, api, (d_part,), accesses(psum), p, math.ceil(free_size(dst) * width / n),
               {"broadcast": True})
    if numerics():
        dst.write(_values_for(dst, src))
    else:
        dst.alloc.mark_written()
    return first


def _range_box(counts: list[int], start: int, width: int) -> list[tuple[int, int]]:
    """Per dimension of a row-major index space of ``counts`` (outermost first), the (first index, count) of
    the smallest box holding the elements ``[start, start + width)``: exact when the range is aligned to
    the inner dimensions, as chunks of a row are; otherwise a superset, which keeps dependencies safe."""
    first = _unravel(start, counts)
    last = _unravel(start + width - 1, counts)
    box = []
    spread = False  # an outer dimension already spans several indices: every inner one is whole
    for c, a, b in zip(counts, first, last, strict=True):
        if spread:
            box.append((0, c))
        elif a == b:
            box.append((a, 1))
        else:
            box.append((a, b - a + 1))
            spread = True
    return box


def _unravel(flat: int, counts: list[int]) -> list[int]:
    index = []
    for c in reversed(counts):
        flat, i = divmod(flat, c)
        index.append(i)
    return index[::-1]


def _follows_src(acc: Access, dst_free: tuple[int, ...], src_free: tuple[int, ...]) -> list[bool] | None:
    """Per entry of ``acc.pattern``: does the dimension follow src's elements (False: a size-1 src dimension
    repeated in dst)? None when the pattern's dimensions cannot be matched to dst's, e.g. a masked view."""
    dims = [(d, s) for d, s in zip(dst_free, src_free, strict=True) if d > 1]
    if [c for _, c in acc.pattern if c > 1] != [d for d, _ in dims]:
        return None
    follows, k = [], 0
    for _, c in acc.pattern:
        if c > 1:
            follows.append(dims[k][1] > 1)
            k += 1
        else:
            follows.append(True)
    return follows


def _range_box_of(acc: Access, follows: list[bool], start: int, width: int) -> list[tuple[int, int]]:
    """The box of dst's pattern that a chunk ``[start, start + width)`` of src's elements lands in: the
    chunk's box along the dimensions that follow src, whole along the repeated ones."""
    inner = iter(_range_box([c for (_, c), f in zip(acc.pattern, follows, strict=True) if f], start, width))
    return [next(inner) if f else (0, c) for (_, c), f in zip(acc.pattern, follows, strict=True)]


def _sub_region(acc: Access, box: list[tuple[int, int]]) -> Access:
    """The part of an on-chip access that ``box`` (per pattern entry: first index, count) selects."""
    offset = acc.offset + sum(i * stride for (stride, _), (i, _) in zip(acc.pattern, box, strict=True))
    pattern = tuple((stride, n) for (stride, _), (_, n) in zip(acc.pattern, box, strict=True))
    return Access(acc.tensor, acc.buffer, acc.dtype, acc.itemsize, acc.partition_start, acc.partitions, offset,
                  pattern, acc.partition_stride, acc.indirect)


def nc_stream_shuffle(dst: Tile, src: Tile, shuffle_mask, api: str, mask: Mask | None = None):
    """Within each 32-partition quadrant: ``dst[i] = src[shuffle_mask[i]]`` (255 leaves dst[i] unchanged)."""
    for t, arg in ((src, "src"), (dst, "dst")):
        on_chip(t, api, arg)
        tile_checks(t, api, arg)
    if dst.dtype != src.dtype:
        raise_error("err_unsupported_dtype",
                    f"{api}: dst ({dt.dtype_name(dst.dtype)}) must have the dtype of src ({dt.dtype_name(src.dtype)})")
    if free_size(dst) != free_size(src):
        raise_error("err_invalid_argument",
                    f"{api}: dst {list(dst.shape)} and src {list(src.shape)} must hold as many elements per partition")
    shuffle = _shuffle_mask(shuffle_mask, api)
    ps, pd = src.shape[0], dst.shape[0]
    active = math.ceil(max(ps, pd) / QUADRANT) * QUADRANT
    allowed = {32: (0, 32, 64, 96), 64: (0, 64)}.get(active, (0,))
    s_acc, d_acc = src.access(), dst.access(mask)
    for acc, arg in ((s_acc, "src"), (dst.access(), "dst")):
        if acc.partition_start not in allowed:
            raise_error("err_partition_start_misaligned",
                        f"{api}: {arg} starts at partition {acc.partition_start}; with {active} active partitions "
                        f"it must start at one of {list(allowed)}")
    rows = np.arange(pd)
    picks = np.array([shuffle[i % QUADRANT] for i in rows])
    moved = picks != SHUFFLE_KEEP
    source = (rows // QUADRANT) * QUADRANT + np.where(moved, picks, 0)
    if (source[moved] >= ps).any():
        bad = int(source[moved].max())
        raise_error("err_invalid_argument",
                    f"{api}: shuffle_mask reads source partition {bad}, but src has only {ps} partitions")
    if numerics():
        values = np.array(src.read().reshape(ps, -1)[source], copy=True)  # read fully before an in-place write
        keep = moved.reshape((pd,) + (1,) * (len(dst.shape) - 1))
        cond = np.broadcast_to(keep, dst.shape)
        if mask is not None:
            cond = cond & np.broadcast_to(mask.values, dst.shape)
        dst.write(values.reshape(dst.shape), Mask(cond))
    else:
        dst.alloc.mark_written()
    return record("SHUFFLE", DVE, api, (d_acc,), (s_acc,), active, free_size(dst), {"shuffle": tuple(shuffle)})


def _shuffle_mask(shuffle_mask, api: str) -> list[int]:
    try:
        values = [int(v) for v in shuffle_mask]
    except (TypeError, ValueError):
        raise_error("err_invalid_argument", f"{api}: shuffle_mask must be a list of 32 integers")
    if len(values) != QUADRANT or any(not (0 <= v < QUADRANT or v == SHUFFLE_KEEP) for v in values):
        raise_error("err_invalid_argument",
                    f"{api}: shuffle_mask must hold 32 source partitions in [0, 32) or 255 (keep), got {values}")
    return values


def dma_transpose(dst: Tile, src: Tile, axes: tuple[int, ...] | None, api: str, any_target: bool = False):
    """Transpose while moving through the DMA engines: 2-D (1,0), 3-D (2,1,0), 4-D (3,1,2,0).

    The current dialect documents it for NeuronCore-v3+; the legacy dialect's reference lists trn1 too
    (only hardware DGE needs v3+), so its frontend passes ``any_target``.
    """
    spec = current().spec
    if not spec.dma_transpose and not any_target:
        raise_error("err_unsupported_operation",
                    f"{api}: DMA transpose needs {targets.earliest_with('dma_transpose')} or later; on {spec.name} "
                    "transpose on the Tensor engine (nisa.nc_transpose) or load with nl.load_transpose2d")
    perm = dma_transpose_axes(src.shape, axes, api)
    if dst.shape != tuple(src.shape[a] for a in perm):
        raise_error("err_invalid_argument",
                    f"{api}: the result must be {[src.shape[a] for a in perm]} for src {list(src.shape)}, got "
                    f"{list(dst.shape)}")
    values = src.read().transpose(perm) if numerics() else None
    ins = data_ops.dma_copy(dst, src, api, src_values=values)
    ins.attrs["transpose"] = True
    ins.attrs["axes"] = perm
    return ins


def dma_transpose_axes(shape: tuple[int, ...], axes, api: str) -> tuple[int, ...]:
    rank = len(shape)
    if rank not in _DMA_TRANSPOSE_AXES:
        raise_error("err_rank_mismatch", f"{api}: DMA transpose takes a 2-D, 3-D or 4-D tile, got {rank}-D")
    perm = _DMA_TRANSPOSE_AXES[rank]
    if axes is not None and tuple(int(a) for a in axes) != perm:
        raise_error("err_invalid_argument",
                    f"{api}: axes={tuple(axes)} is not supported for a {rank}-D tile; the DMA engine transposes "
                    f"with axes {perm}")
    return perm


def dynamic_copy(dst: Tile, src: Tile, api: str, engine: str | None = None, side: str = "src"):
    """A copy whose source or destination offset comes from a register at run time (tensor_copy_dynamic_*)."""
    engine = engine or DVE
    for t, arg in ((src, "src"), (dst, "dst")):
        on_chip(t, api, arg)
        tile_checks(t, api, arg)
    if engine == POOL and PSUM in (src.buffer, dst.buffer):
        raise_error("err_unsupported_memory", f"{api}: the GpSimd engine cannot access PSUM; use the Vector engine")
    if dst.shape[0] != src.shape[0] or free_size(dst) != free_size(src):
        raise_error("err_invalid_argument",
                    f"{api}: src {list(src.shape)} and dst {list(dst.shape)} must have the same partitions and "
                    "elements per partition")
    if numerics():
        dst.write(_copy_values(dst, src))
    else:
        dst.alloc.mark_written()
    return record("GATHER", engine, api, accesses(dst), accesses(src), dst.shape[0], free_size(dst),
                  {"dynamic": side}, producer_of=dst if side == "src" else None)


def _copy_values(dst: Tile, src: Tile) -> np.ndarray:
    v = src.read().reshape(dst.shape)
    if v.dtype != dst.dtype:
        v = dt.cast_to(v.astype(np.float32) if dt.is_float(v.dtype) else v, dst.dtype)
    return v
