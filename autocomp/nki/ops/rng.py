"""Random numbers on the Vector and GpSimd engines: uniform fills, dropout, seeding and PRNG state.

The hardware generator's sequence is not public, so the simulator draws from a
numpy generator seeded per kernel run (seed 0 unless the kernel sets one): the
same kernel and seed give the same numbers every run.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    DVE,
    POOL,
    PSUM,
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


def uniform_range(dst: Tile, low, high, api: str):
    """Fill ``dst`` with values drawn uniformly from [low, high] (float32, then cast to dst's dtype); low and high
    are numbers or one value per partition ([P, 1] tiles). NeuronCore-v4's rand2."""
    require_nc(4, api)
    on_chip(dst, api, "dst")
    tile_checks(dst, api, "dst")
    p = dst.shape[0]
    for x, arg in ((low, "min"), (high, "max")):
        if isinstance(x, Tile):
            per_partition(x, p, api, arg)
        elif not is_scalar(x):
            raise_error("err_invalid_argument", f"{api}: {arg} must be a number or a [{p}, 1] tile, got "
                                                f"{type(x).__name__}")
    if not isinstance(low, Tile) and not isinstance(high, Tile) and not float(low) < float(high):
        raise_error("err_invalid_argument", f"{api}: min ({low}) must be less than max ({high})")
    if numerics():
        lo = np.asarray(column(low, p), dtype=np.float32)
        hi = np.asarray(column(high, p), dtype=np.float32)
        u = generator().random((p, free_size(dst)), dtype=np.float32)
        dst.write((lo + u * (hi - lo)).reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    srcs = accesses(*(x for x in (low, high) if isinstance(x, Tile)))
    return record("RNG", DVE, api, accesses(dst), srcs, p, free_size(dst), {"kind": "rand2"}, producer_of=dst)


# Words of PRNG state per partition (XORWOW) that rand_set_state / rand_get_state move, by engine.
STATE_WORDS = {POOL: 6, DVE: 24}


def _state_engine(engine: str | None, api: str) -> str:
    engine = engine or POOL
    if engine not in STATE_WORDS:
        raise_error("err_invalid_argument", f"{api}: engine must be nisa.engine.gpsimd or nisa.engine.vector")
    require_nc(4 if engine == DVE else 3, f"{api} on the {'Vector' if engine == DVE else 'GpSimd'} engine")
    return engine


def _state_tile(t: Tile, engine: str, api: str, arg: str, allowed) -> None:
    on_chip(t, api, arg, allowed=allowed)
    tile_checks(t, api, arg)
    if t.dtype != dt.uint32 or len(t.shape) != 2 or free_size(t) != STATE_WORDS[engine]:
        raise_error("err_invalid_argument",
                    f"{api}: {arg} must be a 2-D uint32 tile of {STATE_WORDS[engine]} state words per partition "
                    f"for this engine, got {list(t.shape)} {dt.dtype_name(t.dtype)}")


def set_state(seeds: Tile, api: str, engine: str | None = None):
    """Load PRNG state words (uint32, one row per lane): the simulator reseeds its generator from them and keeps
    them as the state ``get_state`` reads back (the hardware's XORWOW sequence is not public)."""
    engine = _state_engine(engine, api)
    _state_tile(seeds, engine, api, "src_seeds", (SBUF,))
    if numerics():
        words = np.asarray(seeds.read(), dtype=np.uint32).copy()
        current().rng_state = np.random.default_rng(np.random.SeedSequence(words.reshape(-1).tolist()))
        ctx_state("rng_words", dict)[engine] = words
    return record("RNG", engine, api, (), accesses(seeds), seeds.shape[0], free_size(seeds), {"kind": "set_state"})


def get_state(dst: Tile, api: str, engine: str | None = None):
    """Store the PRNG state words last loaded on ``engine`` (a fixed pattern from the default seed before any)."""
    engine = _state_engine(engine, api)
    allowed = (SBUF,) if engine == POOL or not current().spec.rng_state_in_psum else (SBUF, PSUM)
    _state_tile(dst, engine, api, "dst", allowed)
    if numerics():
        words = ctx_state("rng_words", dict).get(engine)
        p, k = dst.shape[0], free_size(dst)
        if words is None or words.shape[0] < p:
            words = np.random.default_rng(DEFAULT_SEED).integers(0, 2 ** 32, size=(max(p, 128), k), dtype=np.uint32)
        dst.write(words[:p].reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    return record("RNG", engine, api, accesses(dst), (), dst.shape[0], free_size(dst), {"kind": "get_state"},
                  producer_of=dst)
