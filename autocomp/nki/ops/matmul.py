"""Tensor-engine operations: nc_matmul and transposes."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.ops.common import (
    DVE,
    PE,
    PMAX,
    PSUM,
    SBUF,
    accesses,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
    tile_checks,
)
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile

_FP32 = ("float32", "tfloat32")


_DTYPE_PAIRS: dict = {}


def _check_matmul_dtypes(api: str, stationary: Tile, moving: Tile) -> bool:
    s, m = stationary.alloc.dtname, moving.alloc.dtname
    ok = _DTYPE_PAIRS.get((s, m))
    if ok is not None:
        return ok
    _DTYPE_PAIRS[(s, m)] = _matmul_dtypes(api, s, m)
    return _DTYPE_PAIRS[(s, m)]


def _matmul_dtypes(api: str, s: str, m: str) -> bool:
    # Unsupported dtypes first: a float64 operand (numpy's default) is the likely mistake, not the mix it makes.
    for arg, name in (("stationary", s), ("moving", m)):
        if name == "float64":
            raise_error("err_unsupported_dtype",
                        f"{api}: {arg} is float64, which is not a supported dtype: NeuronCores have no "
                        "64-bit floats. Pass float32 (or bfloat16) inputs, e.g. x.astype(np.float32) on the host, "
                        "or cast on chip with nl.copy(..., dtype=nl.float32)")
        if not (name in _FP32 or name in ("bfloat16", "float16") or name.startswith("float8")):
            raise_error("err_unsupported_dtype",
                        f"{api}: {arg} is {name}; the Tensor engine takes fp8, bf16, fp16, tf32 or fp32")
    if (s in _FP32) != (m in _FP32):
        raise_error("err_unsupported_dtype",
                    f"{api}: cannot mix {s} and {m}; if either matmul input is float32/tfloat32 both must be "
                    "(cast the other with nl.copy(..., dtype=...))")
    return s == "float32"


def nc_matmul(dst: Tile, stationary: Tile, moving: Tile, api: str, accumulate: bool = False,
              is_stationary_onezero: bool = False, is_moving_onezero: bool = False, is_transpose: bool = False,
              perf_mode: str | None = None):
    """``dst[M, N] (+)= stationary[K, M].T @ moving[K, N]``, accumulating in fp32 in PSUM."""
    ctx = current()
    s_alloc, m_alloc, d_alloc = stationary.alloc, moving.alloc, dst.alloc
    if s_alloc.buffer != SBUF:
        on_chip(stationary, api, "stationary", allowed=(SBUF,))
    tile_checks(stationary, api, "stationary")
    if m_alloc.buffer != SBUF:
        on_chip(moving, api, "moving", allowed=(SBUF,))
    tile_checks(moving, api, "moving")
    if d_alloc.buffer != PSUM:
        on_chip(dst, api, "dst", allowed=(PSUM,))
    s_shape, m_shape, d_shape = stationary.shape, moving.shape, dst.shape
    k = s_shape[0]
    if m_shape[0] != k:
        raise_error("err_num_partition_mismatch",
                    f"{api}: stationary has {k} contraction partitions and moving has {moving.shape[0]}; the "
                    "contraction (partition) dimension must match")
    # Free sizes; 2-D tiles (nearly all) without a call.
    m = s_shape[1] if len(s_shape) == 2 else free_size(stationary)
    n = m_shape[1] if len(m_shape) == 2 else free_size(moving)
    if m > PMAX:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: stationary free size {m} exceeds the limit of 128 (nl.tile_size.gemm_stationary_fmax); "
                    "tile M in chunks of 128")
    spec = ctx.spec
    if n > min(spec.matmul_moving_fmax, spec.matmul_moving_fmax_bf16_result):
        fmax = spec.matmul_moving_limit(bf16_result=dst.dtype == dt.bfloat16)
        if n > fmax:
            raise_error("err_size_of_dimension_exceed_arch_limit",
                        f"{api}: moving free size {n} exceeds the limit of {fmax} (nl.tile_size.gemm_moving_fmax); "
                        "tile N")
    if d_alloc.dtname not in _FP32 and not (spec.matmul_bf16_result and d_alloc.dtname == "bfloat16"):
        raise_error("err_unsupported_dtype",
                    f"{api}: the matmul result in PSUM must be float32 on {spec.name}, got {d_alloc.dtname}")
    if d_shape[0] != m or (d_shape[1] if len(d_shape) == 2 else free_size(dst)) != n:
        raise_error("err_invalid_argument",
                    f"{api}: result tile {list(dst.shape)} does not match [M={m}, N={n}] of stationary "
                    f"{list(stationary.shape)} and moving {list(moving.shape)}")
    fp32 = _check_matmul_dtypes(api, stationary, moving)
    if ctx.numerics and dst.is_full and dst.shape == (m, n) and stationary.shape == (k, m) and moving.shape == (k, n):
        # Deferred: the accumulation group runs as one BLAS call when PSUM is read.
        if accumulate and not dst.alloc.written:
            warn(f"{api}: accumulating into PSUM that was never initialised; start the group with an "
                 "overwriting matmul or nl.zeros(..., buffer=nl.psum)", "warn_uninitialized_accumulate")
        dst.alloc.defer_matmul(stationary.owner_view(), moving.owner_view(), accumulate)
        dst.alloc.mark_written()
    elif ctx.numerics:
        a = compute_values(stationary).reshape(k, m)
        b = compute_values(moving).reshape(k, n)
        r = a.T @ b
        if accumulate:
            prev = dst.host_values().astype(np.float32).reshape(m, n)
            if np.isnan(prev).all() and not dst.alloc.written:
                warn(f"{api}: accumulating into PSUM that was never initialised; start the group with an "
                     "overwriting matmul or nl.zeros(..., buffer=nl.psum)", "warn_uninitialized_accumulate")
            r = prev + r
        dst.write(r.reshape(dst.shape))
    else:
        d_alloc.mark_written()
    s_acc = stationary.access()
    attrs = {"stationary_elems": m, "moving_elems": n, "contract": k, "fp32": fp32, "accumulate": bool(accumulate),
             "stationary_key": (s_acc.tensor, s_acc.offset, s_acc.partition_start, s_acc.pattern),
             "perf_mode": perf_mode, "onezero": bool(is_stationary_onezero or is_moving_onezero),
             "transpose": bool(is_transpose), "dtype": m_alloc.dtname}
    # Called only by the nc_matmul / matmul wrappers of both dialects: three frames are autocomp.
    return record("MATMUL", PE, api, (dst.access(),), (s_acc, moving.access()), m, n, attrs, dst, None, ctx, 3)


def double_row_matmul(dst: Tile, stationary: Tile, moving: Tile, api: str, accumulate: bool = False,
                      is_stationary_onezero: bool = False, is_moving_onezero: bool = False,
                      is_transpose: bool = False):
    """FP8 double-row mode (trn2+): ``stationary [K, 2, M]`` and ``moving [K, 2, N]`` contract over all 2K rows
    of K partitions in one matmul (the second dimension, of size 2, is part of the contraction)."""
    ctx = current()
    spec = ctx.spec
    if not spec.double_row_fp8:
        raise_error("err_unsupported_operation", f"{api}: perf_mode=double_row needs NeuronCore-v3 or later; the "
                                                 f"target {spec.name} has no double-row mode")
    on_chip(stationary, api, "stationary", allowed=(SBUF,))
    on_chip(moving, api, "moving", allowed=(SBUF,))
    on_chip(dst, api, "dst", allowed=(PSUM,))
    s_shape, m_shape = stationary.shape, moving.shape
    if len(s_shape) != 3 or len(m_shape) != 3 or s_shape[1] != 2 or m_shape[1] != 2:
        raise_error("err_invalid_argument",
                    f"{api}: double_row takes stationary [K, 2, M] and moving [K, 2, N], got {list(s_shape)} and "
                    f"{list(m_shape)}")
    if not (stationary.dtype in dt.FP8 and moving.dtype in dt.FP8):
        raise_error("err_unsupported_dtype",
                    f"{api}: double_row needs fp8 stationary and moving tiles, got {stationary.alloc.dtname} and "
                    f"{moving.alloc.dtname}")
    k, m, n = s_shape[0], s_shape[2], m_shape[2]
    if m_shape[0] != k:
        raise_error("err_num_partition_mismatch",
                    f"{api}: stationary has {k} contraction partitions and moving has {m_shape[0]}")
    fmax = spec.matmul_moving_limit(bf16_result=dst.dtype == dt.bfloat16)
    if k > PMAX or m > PMAX or n > fmax:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: double_row takes at most 128 partitions, M <= 128 and N <= {fmax}; got K={k}, M={m}, "
                    f"N={n}")
    if dst.alloc.dtname not in _FP32 and not (spec.matmul_bf16_result and dst.alloc.dtname == "bfloat16"):
        raise_error("err_unsupported_dtype",
                    f"{api}: the matmul result in PSUM must be float32 on {ctx.target}, got {dst.alloc.dtname}")
    if dst.shape[0] != m or free_size(dst) != n:
        raise_error("err_invalid_argument", f"{api}: result tile {list(dst.shape)} does not match [M={m}, N={n}]")
    if ctx.numerics:
        r = compute_values(stationary).reshape(2 * k, m).T @ compute_values(moving).reshape(2 * k, n)
        if accumulate:
            r = dst.host_values().astype(np.float32).reshape(m, n) + r
        dst.write(r.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    s_acc = stationary.access()
    attrs = {"stationary_elems": m, "moving_elems": n, "contract": 2 * k, "fp32": False,
             "accumulate": bool(accumulate), "stationary_key": (s_acc.tensor, s_acc.offset, s_acc.partition_start,
                                                                 s_acc.pattern),
             "perf_mode": "double_row", "onezero": bool(is_stationary_onezero or is_moving_onezero),
             "transpose": bool(is_transpose), "dtype": moving.alloc.dtname}
    return record("MATMUL", PE, api, (dst.access(),), (s_acc, moving.access()), m, n, attrs, dst, None, ctx, 3)


def nc_transpose(dst: Tile, data: Tile, api: str, engine: str | None = None):
    """Swap partition and free dimensions, on the Tensor engine (<=128x128) or Vector engine (<=32x32)."""
    ctx = current()
    on_chip(data, api, "data")
    tile_checks(data, api, "data")
    p, f = data.shape[0], free_size(data)
    if engine is None:
        engine = PE if (p > 32 or f > 32 or data.buffer == SBUF and dst.buffer == PSUM) else DVE
    limit = 128 if engine == PE else 32
    if p > limit or f > limit:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: transposing [{p}, {f}] on the {'Tensor' if engine == PE else 'Vector'} engine exceeds "
                    f"the {limit}x{limit} limit; transpose in tiles of {limit}")
    if engine == PE:
        on_chip(data, api, "data", allowed=(SBUF,))
        on_chip(dst, api, "dst", allowed=(PSUM,))
    if dst.shape[0] != f or free_size(dst) != p:
        raise_error("err_invalid_argument", f"{api}: result tile {list(dst.shape)} must be [{f}, {p}]")
    if numerics():
        v = data.read().reshape(p, f)
        if engine == PE and not ctx.spec.pe_transpose_mode and dt.is_float(v.dtype):
            # NC-v2 transposes by multiplying with an identity, so NaN/Inf spread along rows.
            with np.errstate(invalid="ignore"):
                r = compute_values(data).reshape(p, f).T @ np.eye(p, dtype=np.float32)
            if not np.isfinite(r).all() or not np.isfinite(v.astype(np.float32)).all():
                warn(f"{api}: Tensor-engine transpose of NaN/Inf on {ctx.target} spreads them to other elements",
                     "warn_pe_transpose_nan")
            r = dt.cast_to(r, dst.dtype)
        else:
            r = v.T
        dst.write(r.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    attrs = {"transpose": True, "stationary_elems": f, "moving_elems": p, "contract": p,
             "fp32": dt.dtype_name(data.dtype) in _FP32, "accumulate": False, "stationary_key": None,
             "perf_mode": None, "onezero": True, "dtype": dt.dtype_name(data.dtype)}
    return record("TRANSPOSE", engine, api, accesses(dst), accesses(data), p, f, attrs, producer_of=dst)
