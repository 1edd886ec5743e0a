"""``nl.where`` (a Vector-engine select) and ``nl.gather_flattened`` (a GpSimd gather) into new SBUF tiles."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import gpsimd as _gpsimd
from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def where(condition, x, y, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Elements of ``x`` where ``condition`` is non-zero, else of ``y`` (tiles or numbers); a Vector select."""
    api = "nl.where"
    cond = _operand(condition, api, "condition")
    x = _operand(x, api, "x") if isinstance(x, Tile) else x
    y = _operand(y, api, "y") if isinstance(y, Tile) else y
    tiles = [t for t in (cond, x, y) if isinstance(t, Tile)]
    shape = max((t.shape for t in tiles), key=lambda s: (_free_size_of(s), len(s)))
    out = _sbuf(shape, dtype or _select_dtype(x, y))
    _sel.select(out, cond, x, y, api, mask=check_mask(mask))
    return out


def _free_size_of(shape) -> int:
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def _select_dtype(x, y) -> np.dtype:
    dts = [t.dtype for t in (x, y) if isinstance(t, Tile)]
    if not dts:
        return _dt.float32
    out = dts[0] if len(dts) == 1 else _dt.promote(*dts)
    if not _dt.is_float(out) and any(isinstance(v, (float, np.floating)) for v in (x, y)):
        return _dt.float32  # an int tile and a float constant give float, as in NKI's promotion
    return out


def gather_flattened(data, indices, *, mask=None, dtype=None, **kwargs) -> Tile:
    """Per partition, the elements of ``data`` (free dimensions flattened) at the uint32 ``indices``: one
    GpSimd gather into a tile shaped like ``indices`` (then a cast when ``dtype`` differs from data's)."""
    api = "nl.gather_flattened"
    data, indices = _operand(data, api, "data"), _operand(indices, api, "indices")
    for t, arg in ((data, "data"), (indices, "indices")):
        if not 2 <= len(t.shape) <= 4:
            raise_error("err_exceed_max_supported_dimension",
                        f"{api}: {arg} is {len(t.shape)}-D {list(t.shape)}; data and indices must be 2-, 3- or 4-D")
    if check_mask(mask) is not None:
        raise_error("err_unsupported_operation", f"{api}: a mask is not simulated here; slice data and indices to "
                                                 "the region you need instead")
    out = _sbuf(indices.shape, data.dtype)
    _gpsimd.n_gather(out, data, indices, api)
    if dtype is None or _dt.as_dtype(dtype) == data.dtype:
        return out
    cast = _sbuf(indices.shape, dtype)
    _data.tensor_copy(cast, out, api)
    return cast
