"""Arrays in .npz files, low-precision types included.

numpy's .npz format knows only numpy's own dtypes: an ml_dtypes array (bfloat16, float8_*) is written as
anonymous void bytes (``|V2``, ``|V1``) and comes back as bytes nobody can compute with. So such an array is
stored as its raw bits (uint8/uint16) under its own key, with a sidecar key ``<key>.dtype`` holding the
dtype's NKI name, and read back into the ml_dtypes dtype bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DTYPE_SUFFIX = ".dtype"
_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32}


class NpzError(ValueError):
    """An archive that cannot be read back faithfully; the message names the file and key."""


def _is_extension(dtype: np.dtype) -> bool:
    """A dtype numpy cannot save and load by itself: any ml_dtypes type (most have kind 'V', float8_e5m2 'f')."""
    return dtype.type.__module__.split(".")[0] == "ml_dtypes" and dtype.itemsize in _BITS


def encode(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays to pass to ``np.savez``: ml_dtypes arrays as bits plus a dtype-name sidecar."""
    from autocomp.nki import dtypes as dt

    out: dict[str, np.ndarray] = {}
    for key, arr in arrays.items():
        arr = np.asarray(arr)
        if _is_extension(arr.dtype):
            out[key] = arr.view(_BITS[arr.dtype.itemsize])
            out[key + DTYPE_SUFFIX] = np.array(dt.dtype_name(arr.dtype))
        else:
            out[key] = arr
    return out


def decode(path: Path | str, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of a loaded archive, low-precision ones back in their dtype (sidecar keys consumed)."""
    from autocomp.nki import dtypes as dt

    out: dict[str, np.ndarray] = {}
    for key, arr in raw.items():
        if key.endswith(DTYPE_SUFFIX) and key[:-len(DTYPE_SUFFIX)] in raw:
            continue
        sidecar = raw.get(key + DTYPE_SUFFIX)
        if sidecar is not None:
            try:
                dtype = dt.as_dtype(str(sidecar))
            except TypeError:
                raise NpzError(f"{path}: key {key!r} names dtype {str(sidecar)!r}, which NKI does not know") from None
            if dtype.itemsize != arr.dtype.itemsize:
                raise NpzError(f"{path}: key {key!r} holds {arr.dtype.itemsize}-byte values but its dtype "
                               f"{str(sidecar)} takes {dtype.itemsize}")
            out[key] = arr.view(dtype)
        elif arr.dtype.kind == "V" and arr.dtype.fields is None:
            if arr.dtype.itemsize != 2:
                raise NpzError(f"{path}: key {key!r} is raw {arr.dtype.itemsize}-byte values without a dtype "
                               f"(np.savez drops ml_dtypes types); save it as bits with a {key + DTYPE_SUFFIX!r} key "
                               "naming the dtype, e.g. float8_e4m3, or with `autocomp simulate --out`")
            out[key] = arr.view(dt.bfloat16)  # the only 2-byte ml_dtypes type NKI has
        else:
            out[key] = arr
    return out


def save(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **encode(arrays))


def load(path: Path | str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        raw = {}
        for k in npz.files:
            try:
                raw[k] = npz[k]
            except ValueError as e:  # e.g. float8_e5m2 written by plain np.savez as '<f1'
                raise NpzError(f"{path}: key {k!r} cannot be read ({e}); save it as bits with a "
                               f"{k + DTYPE_SUFFIX!r} key naming the dtype, or with `autocomp simulate --out`") \
                    from None
    return decode(path, raw)
