"""HBM constants from host arrays (``nl.shared_constant``, ``nl.shared_identity_matrix``) and the host-side
``nl.static_cast``."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.dtypes import bfloat16
from autocomp.nki.runtime import current as _current
from autocomp.nki.storage import Allocation
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM


def shared_constant(constant, dtype=None, **kwargs) -> Tile:
    """An HBM constant holding a host numpy array (usually an identity)."""
    arr = np.asarray(constant)
    dtype = _dt.as_dtype(dtype) if dtype is not None else arr.dtype
    t = Tile(Allocation(_current(), "constant", HBM, arr.shape, _dt.as_dtype(dtype), -1, kind="internal"), None)
    t.alloc.kind = "constant"
    if t.alloc.has_values:
        t.alloc.set_values(_dt.cast_to(arr.astype(np.float32) if arr.dtype.kind == "f" else arr, dtype).copy())
    t.alloc.mark_written()
    return t


def shared_identity_matrix(n: int, dtype=bfloat16, **kwargs) -> Tile:
    return shared_constant(np.eye(int(n), dtype=np.float32), dtype)


def static_cast(arr, dtype):
    """Host-side cast of a numpy array (or scalar) to an NKI dtype."""
    return np.asarray(arr).astype(_dt.as_dtype(dtype))
