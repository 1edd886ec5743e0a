"""NKI data types mapped onto numpy / ml_dtypes, and NKI's type-promotion rules.

Low-precision types are real numpy dtypes from ml_dtypes, so harness code such as
``x.astype(nl.bfloat16)`` works unchanged. ``tfloat32`` is stored as float32
and rounded to a 10-bit mantissa when written.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

bool_ = np.dtype(np.bool_)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)
uint32 = np.dtype(np.uint32)
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
bfloat16 = np.dtype(ml_dtypes.bfloat16)
float8_e4m3 = np.dtype(ml_dtypes.float8_e4m3)
float8_e4m3fn = np.dtype(ml_dtypes.float8_e4m3fn)
float8_e5m2 = np.dtype(ml_dtypes.float8_e5m2)
float8_e8m0fnu = np.dtype(ml_dtypes.float8_e8m0fnu)


# tfloat32 (1-8-10) has no numpy type: a distinct float32-compatible dtype object
# (a one-field structured dtype would break arithmetic), so we tag it by name.
tfloat32 = np.dtype(np.float32, metadata={"nki": "tfloat32"})

# Packed MX types: each element holds four narrow values, so float8 x4 elements are 32-bit words and float4 x4
# elements 16-bit half-words (the NKI MXFP guide).
float8_e5m2_x4 = np.dtype(np.uint32, metadata={"nki": "float8_e5m2_x4"})
float8_e4m3fn_x4 = np.dtype(np.uint32, metadata={"nki": "float8_e4m3fn_x4"})
float4_e2m1fn_x4 = np.dtype(np.uint16, metadata={"nki": "float4_e2m1fn_x4"})

_NAMES = {
    "bool": bool_, "bool_": bool_, "int8": int8, "int16": int16, "int32": int32, "uint8": uint8,
    "uint16": uint16, "uint32": uint32, "float16": float16, "fp16": float16, "float32": float32,
    "fp32": float32, "bfloat16": bfloat16, "bf16": bfloat16, "float8_e4m3": float8_e4m3,
    "float8_e4m3fn": float8_e4m3fn, "float8_e5m2": float8_e5m2, "float8_e8m0fnu": float8_e8m0fnu,
    "tfloat32": tfloat32, "float8_e5m2_x4": float8_e5m2_x4, "float8_e4m3fn_x4": float8_e4m3fn_x4,
    "float4_e2m1fn_x4": float4_e2m1fn_x4,
}


_name_cache: dict = {}


def dtype_name(dt: np.dtype) -> str:
    """NKI's name for a dtype (``bfloat16``, ``tfloat32``, ...)."""
    try:
        return _name_cache[id(dt), dt]
    except (KeyError, TypeError):
        pass
    name = _dtype_name(dt)
    try:
        _name_cache[id(dt), dt] = name
    except TypeError:
        pass
    return name


def _dtype_name(dt: np.dtype) -> str:
    meta = dt.metadata
    if meta and "nki" in meta:
        return meta["nki"]
    return "bool" if dt == bool_ else dt.name


def as_dtype(value) -> np.dtype:
    """Accept an NKI dtype, a numpy dtype or type, a torch dtype, or a name."""
    if isinstance(value, np.dtype) or value.__class__.__module__ == "numpy.dtypes":
        return value
    if isinstance(value, str):
        if value in _NAMES:
            return _NAMES[value]
        raise TypeError(f"unknown dtype name {value!r}; use one of {sorted(_NAMES)}")
    text = str(value)
    if text.startswith("torch."):
        key = text[len("torch."):]
        key = {"float": "float32", "half": "float16", "bool": "bool_"}.get(key, key)
        if key in _NAMES:
            return _NAMES[key]
    try:
        return np.dtype(value)
    except TypeError:
        raise TypeError(f"{value!r} is not a dtype NKI supports") from None


def is_float(dt: np.dtype) -> bool:
    return dt.kind == "f" or dt in _ML_FLOATS


def is_int(dt: np.dtype) -> bool:
    return dt.kind in "iub" and not is_packed(dt)


def is_packed(dt: np.dtype) -> bool:
    meta = dt.metadata
    return bool(meta) and meta.get("nki", "").endswith("_x4")


_ML_FLOATS = {bfloat16, float8_e4m3, float8_e4m3fn, float8_e5m2, float8_e8m0fnu}
FP8 = {float8_e4m3, float8_e4m3fn, float8_e5m2}


def itemsize(dt: np.dtype) -> int:
    return dt.itemsize


def _float_width(dt: np.dtype) -> int:
    return 32 if dt in (float32, tfloat32) else dt.itemsize * 8


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """NKI's binary type promotion (docs/nki-semantics.md#numerics).

    float with int gives the float; two floats give the wider, except fp16+bf16
    give fp32 and fp8e4+fp8e5 give bf16; two ints give the wider, except
    int8+uint8 give int16 and int32+uint32 give fp32.
    """
    if a == b:
        return a
    fa, fb = is_float(a), is_float(b)
    if fa and not fb:
        return a
    if fb and not fa:
        return b
    if fa and fb:
        pair = {dtype_name(a), dtype_name(b)}
        if pair == {"float16", "bfloat16"}:
            return float32
        if pair <= {"float8_e4m3", "float8_e4m3fn", "float8_e5m2"}:
            return bfloat16
        wa, wb = _float_width(a), _float_width(b)
        if wa == wb:
            return float32
        return a if wa > wb else b
    if a == bool_:
        return b
    if b == bool_:
        return a
    if {a, b} == {int32, uint32}:
        return float32
    if a.itemsize == b.itemsize:
        # Same width, different signedness: widen to the next signed type.
        return {1: int16, 2: int32}.get(a.itemsize, float32)
    return a if a.itemsize > b.itemsize else b


def cast_to(values: np.ndarray, dt: np.dtype) -> np.ndarray:
    """Convert computed values (usually float32) to a storage dtype the way hardware does.

    Float to int rounds to nearest even and saturates (docs/nki-semantics.md#numerics); tfloat32
    keeps 10 mantissa bits.
    """
    if values.dtype == dt and not (dt.metadata and dt.metadata.get("nki") == "tfloat32"):
        return values
    if is_int(dt) and dt != bool_ and values.dtype.kind == "f":
        info = np.iinfo(dt)
        v = np.rint(values.astype(np.float64, copy=False))
        v = np.nan_to_num(v, nan=0.0, posinf=info.max, neginf=info.min)
        return np.clip(v, info.min, info.max).astype(dt)
    if dt == bool_:
        return values.astype(np.bool_)
    if dt.metadata and dt.metadata.get("nki") == "tfloat32":
        bits = np.asarray(values, dtype=np.float32).view(np.uint32)
        # Round to nearest even at mantissa bit 13.
        rounded = (bits + np.uint32(0xFFF) + ((bits >> np.uint32(13)) & np.uint32(1))) & np.uint32(0xFFFFE000)
        return rounded.view(np.float32)
    return values.astype(dt)
