"""Resolving a dtype argument of the legacy language helpers (``nl.constants.sizeinbytes``) to an NKI dtype."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error


def nki_dtype(dtype, api: str) -> np.dtype:
    try:
        return _dt.as_dtype(dtype)
    except (TypeError, ValueError):
        raise_error("err_unsupported_dtype", f"{api}: {dtype!r} is not an NKI dtype; pass one such as nl.bfloat16")
