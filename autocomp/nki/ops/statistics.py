"""Batch-norm statistics on the Vector engine: ``bn_stats`` per chunk, ``bn_aggr`` to combine them."""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, accesses, compute_values, free_size, numerics, record
from autocomp.nki.ops.operands import compute_tile, row_mask, valid_2d
from autocomp.nki.tile import Tile

BN_STATS_FMAX = 512


def bn_stats(dst: Tile, data: Tile, api: str, mask: Mask | None = None):
    """Per partition: (count, mean, count*variance) of the even elements, then of the odd elements."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    p, n = data.shape[0], free_size(data)
    if n > BN_STATS_FMAX:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: {n} elements per partition exceed nl.tile_size.bn_stats_fmax ({BN_STATS_FMAX}); run "
                    "bn_stats on 512-element chunks into one stats tile and aggregate them with one bn_aggr")
    if dst.shape[0] != p or free_size(dst) != 6:
        raise_error("err_invalid_argument", f"{api}: the result must be [{p}, 6], got {list(dst.shape)}")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        v = compute_values(data, mask).reshape(p, n).astype(np.float64)
        valid = valid_2d(mask, data.shape)
        valid = np.ones((p, n), dtype=bool) if valid is None else valid
        parity = (np.arange(n) % 2)[None, :]
        halves = [_moments(v, valid & (parity == k)) for k in (0, 1)]
        dst.write(np.concatenate(halves, axis=1).reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("BN_STATS", DVE, api, accesses(dst, mask=out_mask), accesses(data, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)


def _moments(v: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """[P, 3]: count, mean and sum of squared deviations of the selected elements."""
    count = sel.sum(axis=1)
    x = np.where(sel, v, 0.0)
    mean = x.sum(axis=1) / np.maximum(count, 1)
    m2 = np.where(sel, (v - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return np.stack([count, mean, m2], axis=1)


def bn_aggr(dst: Tile, data: Tile, api: str, mask: Mask | None = None):
    """Combine (count, mean, count*variance) triples per partition into (mean, variance)."""
    compute_tile(data, api, "data")
    compute_tile(dst, api, "dst")
    p, n = data.shape[0], free_size(data)
    if n % 3:
        raise_error("err_invalid_argument",
                    f"{api}: the input holds {n} elements per partition; bn_aggr reads (count, mean, "
                    "count*variance) triples from bn_stats, so it must be a multiple of 3")
    if dst.shape[0] != p or free_size(dst) != 2:
        raise_error("err_invalid_argument", f"{api}: the result must be [{p}, 2], got {list(dst.shape)}")
    out_mask = row_mask(mask, data.shape)
    if numerics():
        t = compute_values(data, mask).reshape(p, n // 3, 3).astype(np.float64)
        valid = valid_2d(mask, data.shape)
        use = np.ones((p, n // 3), dtype=bool) if valid is None else valid.reshape(p, n // 3, 3).all(axis=2)
        count = np.where(use, t[:, :, 0], 0.0)
        live = use & (count > 0)  # empty groups (an odd half of a 1-element chunk) add nothing
        total = count.sum(axis=1)
        mean = np.where(live, count * t[:, :, 1], 0.0).sum(axis=1) / np.maximum(total, 1)
        m2 = np.where(live, t[:, :, 2] + count * (t[:, :, 1] - mean[:, None]) ** 2, 0.0).sum(axis=1)
        var = m2 / np.maximum(total, 1)
        dst.write(np.stack([mean, var], axis=1).reshape(dst.shape), out_mask)
    else:
        dst.alloc.mark_written()
    return record("BN_AGGR", DVE, api, accesses(dst, mask=out_mask), accesses(data, mask=mask), p, n, None,
                  producer_of=dst, mask=out_mask)
