"""Random numbers: dropout, random bits (``nisa.rng``), uniform values (``nisa.rand2``), seeding and PRNG state."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops.common import numerics
from autocomp.nki.tile import Tile
from autocomp.nki.v2.calls import dst_tile, engine_arg, isa_call, src_tile
from autocomp.nki.v2.enums import engine

_isa = isa_call("nisa")


@_isa
def dropout(dst, data, prob, name=None):
    api = "nisa.dropout"
    dst, data = dst_tile(dst, api), src_tile(data, api, "data")
    if dst.dtype != data.dtype or dt.dtype_name(dst.dtype) != dt.dtype_name(data.dtype):
        raise_error("err_unsupported_dtype",
                    f"{api}: dst ({dt.dtype_name(dst.dtype)}) must have the dtype of data "
                    f"({dt.dtype_name(data.dtype)}); cast afterwards with nisa.tensor_copy into a tensor of the dtype "
                    "you need")
    _rng.dropout(dst, data, prob, api)


@_isa
def rng(dst, engine=engine.vector, name=None):
    """Random bits: integer dst gets uniformly random integers of its width."""
    api = "nisa.rng"
    dst = dst_tile(dst, api)
    if engine is not None:
        engine_arg(engine, api)
    if not dt.is_int(dst.dtype):
        raise_error("err_unsupported_dtype", f"{api}: dst must be an integer type, got {dt.dtype_name(dst.dtype)}")
    _rng.uniform(dst, api)
    if numerics():
        info = np.iinfo(dst.dtype)
        dst.write(_rng.generator().integers(info.min, info.max, size=dst.shape, endpoint=True, dtype=dst.dtype))



@_isa
def set_rng_seed(src_seeds, name=None):
    _rng.set_seed(src_seeds, "nisa.set_rng_seed")


@_isa
def rand2(dst, min, max, name=None):  # noqa: A002 - NKI's parameter names
    """Values drawn uniformly from [min, max] (numbers or [P, 1] tiles) on the Vector engine (NeuronCore-v4+)."""
    api = "nisa.rand2"
    low = src_tile(min, api, "min") if isinstance(min, Tile) else min
    high = src_tile(max, api, "max") if isinstance(max, Tile) else max
    _rng.uniform_range(dst_tile(dst, api), low, high, api)


@_isa
def rand_set_state(src_seeds, engine=engine.gpsimd, name=None):
    """Load the PRNG state words of each lane (uint32, 6 per partition on GpSimd, 24 on Vector)."""
    api = "nisa.rand_set_state"
    _rng.set_state(src_tile(src_seeds, api, "src_seeds"), api, engine_arg(engine, api))


@_isa
def rand_get_state(dst, engine=engine.gpsimd, name=None):
    """Store the PRNG state words of each lane (uint32, 6 per partition on GpSimd, 24 on Vector)."""
    api = "nisa.rand_get_state"
    _rng.get_state(dst_tile(dst, api), api, engine_arg(engine, api))
