"""HBM constants from host arrays (``nl.shared_constant``, ``nl.shared_identity_matrix``) and the host-side
``nl.static_cast``."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.dtypes import uint8
from autocomp.nki.errors import raise_error
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


def shared_identity_matrix(n: int, dtype=uint8, **kwargs) -> Tile:
    """An n x n identity in HBM; uint8 unless dtype says otherwise (both dialects document that default)."""
    return shared_constant(np.eye(int(n), dtype=np.float32), dtype)


def static_cast(input_data, dtype):
    """Host-side cast of a numpy array (or scalar) to an NKI dtype."""
    return np.asarray(input_data).astype(_dt.as_dtype(dtype))


class _Finfo:
    """Machine limits of an NKI float dtype (``nl.finfo``), numpy's names."""

    def __init__(self, dtype):
        import ml_dtypes

        dt = _dt.as_dtype(dtype)
        if not _dt.is_float(dt):
            raise_error("err_unsupported_dtype", f"nl.finfo: {_dt.dtype_name(dt)} is not a float dtype; nl.finfo "
                                                 "takes float dtypes (nl.float32, nl.bfloat16, ...)")
        info = ml_dtypes.finfo(dt) if dt.metadata is None or "nki" not in dt.metadata else np.finfo(np.float32)
        self.dtype, self.bits = dt, info.bits
        self.min, self.max, self.eps, self.tiny = float(info.min), float(info.max), float(info.eps), float(info.tiny)

    def __repr__(self) -> str:
        return f"finfo(dtype={_dt.dtype_name(self.dtype)}, min={self.min}, max={self.max}, eps={self.eps})"


def finfo(dtype) -> _Finfo:
    """Host-side machine limits of a float dtype (min, max, eps, tiny, bits)."""
    return _Finfo(dtype)
