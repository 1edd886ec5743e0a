"""The Vector engine's max8 family: the 8 largest values per partition, finding and replacing them.

max8, nc_find_index8 and nc_match_replace8 read up to ``SEARCH_FMAX`` elements per
partition and compare in fp32.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, accesses, compute_values, free_size, numerics, on_chip, record
from autocomp.nki.ops.operands import compute_tile, row_mask, same_layout, valid_2d
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile

SEARCH_FMAX = 16384  # elements per partition max8 / find_index8 / match_replace8 read


def _search_input(t: Tile, api: str, arg: str, lo: int) -> int:
    compute_tile(t, api, arg)
    n = free_size(t)
    if not lo <= n <= SEARCH_FMAX:
        raise_error("err_size_of_dimension_exceed_arch_limit" if n > SEARCH_FMAX else "err_invalid_argument",
                    f"{api}: {arg} has {n} elements per partition; it must have between {lo} and {SEARCH_FMAX}")
    return n


def _eight(t: Tile, p: int, api: str, arg: str) -> None:
    on_chip(t, api, arg)
    if t.shape[0] != p or free_size(t) != 8:
        raise_error("err_invalid_argument", f"{api}: {arg} must be [{p}, 8], got {list(t.shape)}")


def max8(dst: Tile, src: Tile, api: str, mask: Mask | None = None):
    """The 8 largest values of each partition, in descending order (compared in fp32)."""
    n = _search_input(src, api, "src", 8)
    p = src.shape[0]
    _eight(dst, p, api, "the result")
    out_mask = row_mask(mask, src.shape)
    if numerics():
        v = _searchable(src, mask, -np.inf)
        top = -np.sort(-v, axis=1)[:, :8]
        dst.write(top.reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("MAX8", DVE, api, accesses(dst, mask=out_mask), accesses(src, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)


def _searchable(t: Tile, mask: Mask | None, fill: float) -> np.ndarray:
    """fp32 [P, n] values with masked-out elements replaced by ``fill`` (a writable copy)."""
    v = compute_values(t, mask).reshape(t.shape[0], -1).astype(np.float32, copy=True)
    valid = valid_2d(mask, t.shape)
    if valid is not None:
        v[~valid] = fill
    return v


def _paired_matches(v: np.ndarray, vals: np.ndarray, order, taken: float, missing: int = 0,
                    on_match=None) -> tuple[np.ndarray, bool]:
    """Per partition, for each of the 8 values in ``order``: the first element of ``v`` equal to it, which is then
    set to ``taken`` so that a value repeated in ``vals`` pairs with the next occurrence (``v`` is a scratch copy).
    Values not found get ``missing``. Returns (indices [P, 8], whether every value was found)."""
    rows = np.arange(v.shape[0])
    idx = np.full(vals.shape, missing, dtype=np.int64)
    found_all = True
    for j in order:
        eq = v == vals[:, j:j + 1]
        found = eq.any(axis=1)
        hit_rows, hit_cols = rows[found], eq.argmax(axis=1)[found]
        idx[hit_rows, j] = hit_cols
        v[hit_rows, hit_cols] = taken
        found_all = found_all and bool(found.all())
        if on_match is not None:
            on_match(hit_rows, hit_cols)
    return idx, found_all


def nc_find_index8(dst: Tile, data: Tile, vals: Tile, api: str, mask: Mask | None = None):
    """Index of the first occurrence of each of 8 values per partition (uint16/uint32 result)."""
    n = _search_input(data, api, "data", 8)
    p = data.shape[0]
    _eight(vals, p, api, "vals")
    _eight(dst, p, api, "the result")
    if dst.dtype not in (dt.uint16, dt.uint32):
        raise_error("err_unsupported_dtype", f"{api}: dtype must be uint16 or uint32, got {dt.dtype_name(dst.dtype)}")
    if numerics():
        # A value repeated in vals pairs with successive occurrences, in ascending column order; a value not in
        # data gets the all-ones index (0xFFFFFFFF / 0xFFFF). The current docs define both; the legacy ones
        # called a missing value undefined, hence the warning there.
        missing = int(np.iinfo(dst.dtype).max)
        idx, found = _paired_matches(_searchable(data, mask, np.nan), compute_values(vals).reshape(p, 8), range(8),
                                     taken=np.nan, missing=missing)
        if not found and current().dialect == "v1":
            warn(f"{api}: some values in vals do not occur in data; the legacy docs leave the result undefined "
                 f"(the simulator writes {missing:#x}, as the hardware does per the current docs)",
                 "warn_undefined_result")
        dst.write(idx.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    return record("MAX8", DVE, api, accesses(dst), accesses(data, mask=mask) + accesses(vals), p, n,
                  {"variant": "find_index8"}, producer_of=dst)


def nc_match_replace8(dst: Tile, data: Tile, vals: Tile, imm, api: str, dst_idx: Tile | None = None,
                      mask: Mask | None = None):
    """Replace the first occurrence of each of 8 values per partition with ``imm``; optionally output indices."""
    n = _search_input(data, api, "data", 1)
    p = data.shape[0]
    _eight(vals, p, api, "vals")
    compute_tile(dst, api, "dst")
    same_layout(api, data, (dst, "dst"))
    if dst_idx is not None:
        _eight(dst_idx, p, api, "dst_idx")
    if isinstance(imm, Tile) or not isinstance(imm, (int, float, np.number)):
        raise_error("err_invalid_argument", f"{api}: imm must be a float32 constant, got {type(imm).__name__}")
    if numerics():
        v = _searchable(data, mask, np.nan)
        replaced = compute_values(data).reshape(p, -1).astype(np.float32, copy=True)

        def replace(rows, cols):
            replaced[rows, cols] = np.float32(imm)  # v, which later values search, holds imm there too

        # vals are processed from the last to the first, so a value repeated in vals pairs its highest column with
        # the first occurrence in data and lower columns with later ones (the docs' duplicate tie-break).
        idx, _ = _paired_matches(v, compute_values(vals).reshape(p, 8), range(7, -1, -1), taken=np.float32(imm),
                                 on_match=replace)
        dst.write(replaced.reshape(dst.shape), mask)
        if dst_idx is not None:
            dst_idx.write(idx.reshape(dst_idx.shape))
    else:
        dst.alloc.mark_written()
        if dst_idx is not None:
            dst_idx.alloc.mark_written()
    dsts = accesses(dst, mask=mask) + (accesses(dst_idx) if dst_idx is not None else ())
    return record("MAX8", DVE, api, dsts, accesses(data, mask=mask) + accesses(vals), p, n,
                  {"variant": "match_replace8"}, producer_of=dst, mask=mask)
