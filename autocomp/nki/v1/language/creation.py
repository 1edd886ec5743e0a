"""Creating v1 tensors: ``nl.ndarray``, ``nl.zeros`` / ``ones`` / ``full`` and their ``*_like`` forms."""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as _data
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM, PSUM, SBUF
from autocomp.nki.v1.language.memory import allocate as _allocate
from autocomp.nki.v1.language.memory import hbm, psum, sbuf


def ndarray(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    """An uninitialised tensor (its memory holds the NaN sentinel until written)."""
    return _allocate(shape, dtype, buffer, name)


def zeros(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return full(shape, 0, dtype, buffer=buffer, name=name)


def ones(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return full(shape, 1, dtype, buffer=buffer, name=name)


def full(shape, fill_value, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    """On SBUF a memset; on PSUM ``nl.zeros`` is free (it only opens an accumulation group)."""
    if buffer is not None and getattr(buffer, "kind", None) == HBM:
        raise_error("err_hbm_tensor_with_init_value_not_supported",
                    "HBM tensors cannot be created with an initial value; use nl.ndarray and nl.store")
    t = _allocate(shape, dtype, buffer, name, fill=fill_value)
    if t.buffer == SBUF:
        for block in _blocks(t):
            _data.memset(block, fill_value, "nl.full")
    t.alloc.mark_written()
    t.alloc.producer = None
    return t


def _blocks(t: Tile):
    a = t.alloc
    if a.par_axis == 0:
        yield t
        return
    for idx in np.ndindex(*a.shape[:a.par_axis]):
        yield t[idx]


def zeros_like(a: Tile, dtype=None, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return zeros(a.shape, dtype or a.dtype, buffer=buffer or _buffer_of(a), name=name)


def ones_like(x: Tile, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return ones(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def full_like(x: Tile, fill_value, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return full(x.shape, fill_value, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def empty_like(a: Tile, dtype=None, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return ndarray(a.shape, dtype or a.dtype, buffer=buffer or _buffer_of(a), name=name)


def _buffer_of(x: Tile):
    return {SBUF: sbuf, PSUM: psum, HBM: hbm}[x.buffer]
