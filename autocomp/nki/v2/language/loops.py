"""Deprecated range aliases (unrolled like ``range``), the logical-core position, and ``nl.device_print``."""

from __future__ import annotations

import builtins

import numpy as np

from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.v2.control import static_loop


def affine_range(start, stop=None, step=1):
    """Deprecated alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.affine_range")


def sequential_range(start, stop=None, step=1):
    """Deprecated alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.sequential_range")


def static_range(start, stop=None, step=1):
    """Alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.static_range")


def program_id(axis: int = 0) -> int:
    """The logical core (LNC) running this instance: 0 or 1 under ``kernel[2]``."""
    ctx = _current()
    return ctx.program_id[axis] if axis < len(ctx.program_id) else 0


def num_programs(axes=0) -> int:
    ctx = _current()
    if isinstance(axes, (tuple, list)):
        return tuple(ctx.grid[a] if a < len(ctx.grid) else 1 for a in axes)
    return ctx.grid[axes] if axes < len(ctx.grid) else 1


def program_ndim() -> int:
    return len(_current().grid)


def device_print(print_prefix: str, tensor) -> None:
    """Print a tensor's values from inside the kernel (no instruction)."""
    if isinstance(tensor, Tile) and tensor.alloc.data is not None:
        builtins.print(print_prefix, np.asarray(tensor.read()))
    else:
        builtins.print(print_prefix, tensor)
