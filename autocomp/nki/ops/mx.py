"""Microscaling (MX) on NeuronCore-v4: ``quantize_mx`` (Vector engine) and ``nc_matmul_mx`` (Tensor engine).

Layout (the MXFP guide of the NKI docs): an x4 element packs four narrow values
(byte ``j`` of a float8 x4 word, nibble ``j`` of a float4 x4 half-word) that come from
four consecutive free elements of the unquantized tile. A scaling group is 8
partitions x one x4 element (32 values); its scale is a float8_e8m0fnu / uint8
power of two, stored in the same quadrant as the group: for data of more than 32
partitions, group ``g`` of quadrant ``q`` sits on scale partition ``32 q + g``
(g < 4); for at most 32 partitions the scales may also be packed as ``[P // 8, F]``.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.ops.common import (
    DVE,
    PE,
    PSUM,
    SBUF,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
    require_nc,
    tile_checks,
)
from autocomp.nki.tile import Tile

GROUP_PARTITIONS = 8
QUADRANT = 32
# Element type of each x4 type, and the largest unbiased exponent of its normal values (E_max).
_ELEMENTS = {"float8_e5m2_x4": (np.dtype(ml_dtypes.float8_e5m2), 15),
             "float8_e4m3fn_x4": (np.dtype(ml_dtypes.float8_e4m3fn), 8),
             "float4_e2m1fn_x4": (np.dtype(ml_dtypes.float4_e2m1fn), 2)}
_SCALE_DTYPES = ("float8_e8m0fnu", "uint8")
_E8M0_BIAS = 127


def _x4(t: Tile, api: str, arg: str, allowed: tuple[str, ...]) -> str:
    name = dt.dtype_name(t.dtype)
    if name not in allowed:
        raise_error("err_unsupported_dtype", f"{api}: {arg} must be {' or '.join(allowed)}, got {name}")
    return name


def scale_rows(p: int, scale: Tile, api: str, arg: str) -> np.ndarray:
    """The scale tile's row of each scaling group of ``p``-partition data (contiguous or quadrant layout)."""
    groups = p // GROUP_PARTITIONS
    quadrant_rows = np.array([(g // 4) * QUADRANT + g % 4 for g in range(groups)])
    if p <= QUADRANT and scale.shape[0] >= groups:
        return np.arange(groups)  # for one quadrant the two layouts coincide
    if scale.shape[0] < quadrant_rows[-1] + 1:
        raise_error("err_invalid_argument",
                    f"{api}: {arg} has {scale.shape[0]} partitions; data of {p} partitions keeps the scale of group "
                    f"g of quadrant q on partition 32*q + g, so it needs at least {quadrant_rows[-1] + 1} (allocate "
                    f"it [{p}, ...])")
    return quadrant_rows


def _check_data(t: Tile, api: str, arg: str) -> None:
    on_chip(t, api, arg, allowed=(SBUF,))
    tile_checks(t, api, arg)
    p = t.shape[0]
    if p % QUADRANT or p > 128:
        raise_error("err_invalid_argument", f"{api}: {arg} has {p} partitions; MX data needs a multiple of 32, at "
                                            "most 128")


def _check_scale(scale: Tile, p: int, columns: int, api: str, arg: str) -> np.ndarray:
    on_chip(scale, api, arg, allowed=(SBUF,))
    if dt.dtype_name(scale.dtype) not in _SCALE_DTYPES:
        raise_error("err_unsupported_dtype", f"{api}: {arg} must be float8_e8m0fnu or uint8, got "
                                            f"{dt.dtype_name(scale.dtype)}")
    if free_size(scale) < columns:
        raise_error("err_invalid_argument", f"{api}: {arg} {list(scale.shape)} needs {columns} scales per partition")
    return scale_rows(p, scale, api, arg)


def _exponents(scale: Tile, rows: np.ndarray, columns: int) -> np.ndarray:
    """Biased e8m0 exponents [groups, columns] of the scale tile's group rows."""
    raw = scale.read().reshape(scale.shape[0], -1)[rows, :columns]
    if raw.dtype == np.uint8:
        return raw.astype(np.int64)
    return raw.view(np.uint8).astype(np.int64)


def unpack(t: Tile) -> np.ndarray:
    """The narrow values of an x4 tile as float32 [P, F, 4]."""
    name = dt.dtype_name(t.dtype)
    element, _ = _ELEMENTS[name]
    words = np.ascontiguousarray(t.read().reshape(t.shape[0], -1))
    if name.startswith("float4"):
        w = words.astype(np.uint16)
        nibbles = np.stack([(w >> (4 * j)) & 0xF for j in range(4)], axis=-1).astype(np.uint8)
        return nibbles.view(element).astype(np.float32)
    return words.astype(np.uint32).view(np.uint8).reshape(words.shape + (4,)).view(element).astype(np.float32)


def quantize_mx(dst: Tile, src: Tile, dst_scale: Tile, api: str):
    """Quantize fp16/bf16 ``src`` [P, F] to x4 ``dst`` [P, F / 4] and one power-of-two scale per group of 8
    partitions x 4 elements: ``X = 2^(floor(log2(amax)) - (E_max - 1))`` (2^-127 for an all-zero group), values
    ``src / X`` saturated to the element type's range."""
    require_nc(4, api)
    _check_data(src, api, "src")
    on_chip(dst, api, "dst", allowed=(SBUF,))
    if src.dtype not in (dt.float16, dt.bfloat16):
        raise_error("err_unsupported_dtype", f"{api}: src must be float16 or bfloat16, got {dt.dtype_name(src.dtype)}")
    name = _x4(dst, api, "dst", ("float8_e5m2_x4", "float8_e4m3fn_x4"))
    p, f = src.shape[0], free_size(src)
    if f % 4:
        raise_error("err_invalid_argument", f"{api}: src's free size {f} must be a multiple of 4")
    if dst.shape[0] != p or free_size(dst) != f // 4:
        raise_error("err_invalid_argument", f"{api}: dst must be [{p}, {f // 4}] (a quarter of src's free size in x4 "
                                            f"elements), got {list(dst.shape)}")
    columns = f // 4
    rows = _check_scale(dst_scale, p, columns, api, "dst_scale")
    if numerics():
        element, e_max = _ELEMENTS[name]
        v = compute_values(src).reshape(p // GROUP_PARTITIONS, GROUP_PARTITIONS, columns, 4).astype(np.float64)
        amax = np.abs(v).max(axis=(1, 3))  # [groups, columns]
        with np.errstate(divide="ignore"):
            exp = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - (e_max - 1), -_E8M0_BIAS)
        exp = np.clip(exp, -_E8M0_BIAS, _E8M0_BIAS).astype(np.int64)
        top = float(ml_dtypes.finfo(element).max)
        q = np.clip(v / np.exp2(exp)[:, None, :, None], -top, top).astype(element)
        packed = q.reshape(p, columns, 4).view(np.uint8).reshape(p, columns * 4).view(np.uint32)
        dst.write(packed.reshape(dst.shape))
        biased = (exp + _E8M0_BIAS).astype(np.uint8)
        scales = np.asarray(dst_scale.read()).reshape(dst_scale.shape[0], -1).copy()
        scales[rows, :columns] = biased if scales.dtype == np.uint8 else biased.view(scales.dtype)
        dst_scale.write(scales.reshape(dst_scale.shape))
    else:
        dst.alloc.mark_written()
        dst_scale.alloc.mark_written()
    return record("QUANTIZE_MX", DVE, api, accesses(dst, dst_scale), accesses(src), p, f, {"dtype": name},
                  producer_of=dst)


def nc_matmul_mx(dst: Tile, stationary: Tile, moving: Tile, stationary_scale: Tile, moving_scale: Tile, api: str,
                 accumulate=False):
    """``dst[M, N] (+)= sum over k, j of st[k, M, j] * s_scale * mv[k, N, j] * m_scale``: the contraction runs over
    the partitions and the four values of each x4 element. ``accumulate`` is a bool or a boolean array over dst's
    elements (per-element accumulation groups)."""
    require_nc(4, api)
    for t, arg in ((stationary, "stationary"), (moving, "moving")):
        _check_data(t, api, arg)
        _x4(t, api, arg, tuple(_ELEMENTS))
    on_chip(dst, api, "dst", allowed=(PSUM,))
    k, m, n = stationary.shape[0], free_size(stationary), free_size(moving)
    if moving.shape[0] != k:
        raise_error("err_num_partition_mismatch", f"{api}: stationary has {k} partitions and moving "
                                                  f"{moving.shape[0]}; the contraction dimension must match")
    if m % 2 or m > 128:
        raise_error("err_invalid_argument", f"{api}: stationary's free size {m} must be even and at most 128")
    if dst.dtype not in (dt.float32, dt.bfloat16):
        raise_error("err_unsupported_dtype", f"{api}: dst must be float32 or bfloat16, got {dt.dtype_name(dst.dtype)}")
    limit = 8192 if dst.dtype == dt.bfloat16 else 4096
    if n > limit:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: moving's free size {n} exceeds {limit} for a {dt.dtype_name(dst.dtype)} dst")
    if dst.shape[0] != m or free_size(dst) != n:
        raise_error("err_invalid_argument", f"{api}: dst {list(dst.shape)} must be [M={m}, N={n}]")
    s_rows = _check_scale(stationary_scale, k, m, api, "stationary_scale")
    m_rows = _check_scale(moving_scale, k, n, api, "moving_scale")
    if numerics():
        st = unpack(stationary) * _factors(stationary_scale, s_rows, m)
        mv = unpack(moving) * _factors(moving_scale, m_rows, n)
        r = np.einsum("kiq,kjq->ij", st.astype(np.float64), mv.astype(np.float64)).astype(np.float32)
        if accumulate is not False:
            prev = np.asarray(dst.read(), dtype=np.float32).reshape(m, n)
            r = np.where(np.broadcast_to(accumulate, (m, n)), prev + r, r)
        dst.write(r.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    s_acc = stationary.access()
    attrs = {"stationary_elems": m, "moving_elems": n, "contract": k, "fp32": False,
             "accumulate": bool(np.any(accumulate)), "stationary_key": (s_acc.tensor, s_acc.offset,
                                                                        s_acc.partition_start, s_acc.pattern),
             "perf_mode": "mx", "onezero": False, "transpose": False, "dtype": dt.dtype_name(moving.dtype)}
    return record("MATMUL", PE, api, accesses(dst), (s_acc, moving.access(), stationary_scale.access(),
                                                     moving_scale.access()), m, n, attrs, producer_of=dst)


def _factors(scale: Tile, rows: np.ndarray, columns: int) -> np.ndarray:
    """2^(e - 127) per element of [K, columns, 4] data from the group rows of a scale tile."""
    exps = _exponents(scale, rows, columns)  # [groups, columns]
    f = np.exp2(exps - _E8M0_BIAS).astype(np.float32)
    return np.repeat(f, GROUP_PARTITIONS, axis=0)[:, :, None]

