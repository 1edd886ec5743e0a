"""``nl.finfo``: the float limits of an NKI dtype (numpy's ``finfo``, for bfloat16 and fp8 too)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error


def nki_dtype(dtype, api: str) -> np.dtype:
    try:
        return _dt.as_dtype(dtype)
    except (TypeError, ValueError):
        raise_error("err_unsupported_dtype", f"{api}: {dtype!r} is not an NKI dtype; pass one such as nl.bfloat16")


def finfo(dtype):
    """Machine limits of a float dtype (``.min``, ``.max``, ``.eps``, ``.tiny``, ``.bits``)."""
    d = nki_dtype(dtype, "nl.finfo")
    if not _dt.is_float(d):
        raise_error("err_unsupported_dtype", f"nl.finfo: {_dt.dtype_name(d)} is not a float dtype; nl.finfo takes "
                                             "float dtypes (nl.float32, nl.bfloat16, ...)")
    return ml_dtypes.finfo(d)
