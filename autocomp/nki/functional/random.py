"""Random numbers into new SBUF tiles: ``nl.random_seed``, ``nl.rand`` and ``nl.dropout``."""

from __future__ import annotations

from autocomp.nki import dtypes as _dt
from autocomp.nki.functional.shaping import broadcast_to
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


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
