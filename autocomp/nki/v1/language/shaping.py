"""``nl.broadcast_to`` as the legacy dialect documents it: ``broadcast_to(src, *, shape)``."""

from __future__ import annotations

from autocomp.nki.functional import shaping as _shaping
from autocomp.nki.tile import Tile


def broadcast_to(src, *, shape, **kwargs) -> Tile:
    """A new SBUF tile of ``shape`` repeating ``src`` along its size-1 dimensions."""
    return _shaping.broadcast_to(src, shape)
