"""Loops, the SPMD launch grid and ``nl.device_print``: how a v1 kernel iterates and where it runs."""

from __future__ import annotations

import builtins

import numpy as np

from autocomp.nki.runtime import current as _current
from autocomp.nki.runtime import loop_range as _loop_range
from autocomp.nki.tile import Tile


def affine_range(*args, **kwargs):
    """Independent iterations (the compiler may reorder/pipeline them); run in order here."""
    return _loop_range("affine", args, "nl.affine_range")


def sequential_range(*args, **kwargs):
    return _loop_range("sequential", args, "nl.sequential_range")


def static_range(*args):
    return _loop_range("static", args, "nl.static_range")


class nc(int):  # noqa: N801 - NKI's name
    """``nl.nc(n)``: a launch-grid dimension of n instances spread over n physical NeuronCores.

    ``kernel[nl.nc(2), 2]`` launches the same instances as ``kernel[2, 2]``; which core runs which instance
    does not change the simulated values, so here the dimension is its size (``nl.nc(2) * 2`` is 4).
    """


class spmd_dim(int):  # noqa: N801 - NKI's name
    """``nl.spmd_dim(nl.nc(2), 2)``: a launch-grid dimension tiled into sub-dimensions; its size is their product."""

    def __new__(cls, *dims):
        size = 1
        for d in dims:
            size *= int(d)
        return super().__new__(cls, size)


def program_id(axis: int) -> int:
    ctx = _current()
    if axis >= len(ctx.program_id):
        return 0
    return ctx.program_id[axis]


def num_programs(axes=None):
    ctx = _current()
    if axes is None:
        return int(np.prod(ctx.grid)) if ctx.grid else 1
    if isinstance(axes, (tuple, list)):
        return tuple(ctx.grid[a] if a < len(ctx.grid) else 1 for a in axes)
    return ctx.grid[axes] if axes < len(ctx.grid) else 1


def program_ndim() -> int:
    return len(_current().grid)


def device_print(prefix: str, x, *, mask=None, **kwargs) -> None:
    """Print a tile's values from inside the kernel (free: no instruction; the mask is not applied)."""
    if isinstance(x, Tile) and x.alloc.data is not None:
        builtins.print(prefix, np.asarray(x.host_values()))
    else:
        builtins.print(prefix, x)
