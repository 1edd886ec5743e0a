"""Reductions along free axes that return a new SBUF tile: ``nl.sum``, ``nl.max``, ``nl.mean``, ...

Each is one Vector-engine tensor_reduce (``nl.mean`` scales the sum afterwards
without an instruction).
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ALU_OPS
from autocomp.nki.dtypes import uint8
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF

_REDUCE_OPS = {"sum": "add", "max": "maximum", "min": "minimum", "prod": "multiply", "mean": "add",
               "all": "logical_and", "any": "logical_or"}


def _reduce(op_name: str, x, axis, dtype, mask, keepdims, negate=False, scale=None) -> Tile:
    api = f"nl.{op_name}"
    mask = check_mask(mask)
    x = _operand(x, api, "x")
    axes = _red.normalize_axes(axis, len(x.shape), api)
    shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keepdims else \
        tuple(s for i, s in enumerate(x.shape) if i not in axes)
    if len(shape) < 2:
        shape = (shape[0] if shape else 1, 1)
    out = _new_tile(shape, dtype or x.dtype, SBUF)
    _red.tensor_reduce(out, x, ALU_OPS[_REDUCE_OPS[op_name]], axes, api, negate=negate, mask=mask)
    if scale is not None and out.alloc.has_values:
        n = int(np.prod([x.shape[a] for a in axes]))
        out.alloc.set_values(_dt.cast_to(out.alloc.data.astype(np.float32) / np.float32(n), out.dtype))
    return out


def sum(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001 - NKI's name
    return _reduce("sum", x, axis, dtype, mask, keepdims)


def max(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("max", x, axis, dtype, mask, keepdims)


def min(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("min", x, axis, dtype, mask, keepdims)


def prod(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:
    return _reduce("prod", x, axis, dtype, mask, keepdims)


def mean(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:
    return _reduce("mean", x, axis, dtype, mask, keepdims, scale=True)


def all(x, axis, *, dtype=bool, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    """Logical AND along ``axis``; the legacy default dtype=bool gives a uint8 0/1 tile (as it always has here)."""
    return _reduce("all", x, axis, uint8 if dtype in (None, bool) else dtype, mask, keepdims)


def any(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("any", x, axis, dtype or uint8, mask, keepdims)
