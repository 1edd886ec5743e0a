"""Random numbers on the Vector engine: uniform fills, dropout and seeding.

The hardware generator's sequence is not public, so the simulator draws from a
numpy generator seeded per kernel run (seed 0 unless the kernel sets one): the
same kernel and seed give the same numbers every run.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, accesses, compute_values, free_size, numerics, on_chip, record, tile_checks
from autocomp.nki.ops.operands import column, ctx_state, is_scalar, per_partition
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile

DEFAULT_SEED = 0


def generator() -> np.random.Generator:
    return ctx_state("rng_state", lambda: np.random.default_rng(DEFAULT_SEED))


def set_seed(seed, api: str):
    """Reseed the generator from an integer or a tile holding one."""
    src = ()
    if isinstance(seed, Tile):
        on_chip(seed, api, "seed")
        src = accesses(seed)
        value = int(compute_values(seed).reshape(-1)[0]) if numerics() else DEFAULT_SEED
    elif is_scalar(seed):
        value = int(seed)
    else:
        raise_error("err_invalid_argument", f"{api}: seed must be an integer or a tile, got {type(seed).__name__}")
    current().rng_state = np.random.default_rng(value & 0xFFFFFFFF)
    return record("RNG", DVE, api, (), src, 1, 1, {"kind": "seed"})


def uniform(dst: Tile, api: str, mask: Mask | None = None):
    """Fill ``dst`` with values drawn uniformly from [0, 1)."""
    on_chip(dst, api, "dst")
    tile_checks(dst, api, "dst")
    if numerics():
        dst.write(generator().random(dst.shape, dtype=np.float32), mask)
    else:
        dst.alloc.mark_written()
    return record("RNG", DVE, api, accesses(dst, mask=mask), (), dst.shape[0], free_size(dst), {"kind": "rand"},
                  producer_of=dst, mask=mask)


def dropout(dst: Tile, data: Tile, prob, api: str, mask: Mask | None = None):
    """Zero each element with probability ``prob`` (a number or one value per partition); keep the rest."""
    for t, arg in ((data, "data"), (dst, "dst")):
        on_chip(t, api, arg)
        tile_checks(t, api, arg)
    p = data.shape[0]
    if dst.shape[0] != p or free_size(dst) != free_size(data):
        raise_error("err_invalid_argument", f"{api}: the result {list(dst.shape)} must match data {list(data.shape)}")
    if isinstance(prob, Tile):
        per_partition(prob, p, api, "prob")
        if dt.is_int(data.dtype) and prob.dtype != dt.float32:
            raise_error("err_unsupported_dtype",
                        f"{api}: with integer data, prob must be float32, got {dt.dtype_name(prob.dtype)}")
        if not dt.is_float(prob.dtype):
            raise_error("err_unsupported_dtype", f"{api}: prob must be a float tile, got {dt.dtype_name(prob.dtype)}")
    elif not is_scalar(prob) or not 0.0 <= float(prob) <= 1.0:
        raise_error("err_invalid_argument",
                    f"{api}: prob must be a probability in [0, 1] or a [P, 1] tile, got {prob!r}")
    if dt.is_int(data.dtype) and dst.dtype != data.dtype:
        raise_error("err_unsupported_dtype",
                    f"{api}: integer data keeps its dtype; the result cannot be {dt.dtype_name(dst.dtype)}")
    if numerics():
        v = compute_values(data, mask).reshape(p, -1)
        keep = generator().random(v.shape, dtype=np.float32) >= column(prob, p)
        dst.write(np.where(keep, v, 0).reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    srcs = accesses(data, mask=mask) + (accesses(prob) if isinstance(prob, Tile) else ())
    return record("RNG", DVE, api, accesses(dst, mask=mask), srcs, p, free_size(data), {"kind": "dropout"},
                  producer_of=dst, mask=mask)
