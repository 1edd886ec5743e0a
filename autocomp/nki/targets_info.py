"""Per-target limits exposed to kernels (``nl.tile_size``) and float constants (``nl.fp32``)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from autocomp.nki.runtime import current_or_none, normalize_target

# NKI_SPEC §2.4: tile limits by target.
_TILE_SIZE = {
    "trn1": dict(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                 gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                 sbuf_fmax_bytes=176 * 1024, total_available_sbuf_size=176 * 1024),
    "trn2": dict(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                 gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                 sbuf_fmax_bytes=208 * 1024, total_available_sbuf_size=208 * 1024),
    "trn3": dict(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                 gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                 sbuf_fmax_bytes=240 * 1024, total_available_sbuf_size=240 * 1024),
}

_default_target = ["trn1"]


def set_default_target(target: str | None) -> None:
    """``None`` reads NEURON_PLATFORM_TARGET_OVERRIDE, else trn1."""
    _default_target[0] = normalize_target(target)


def active_target() -> str:
    ctx = current_or_none()
    return ctx.target if ctx is not None else _default_target[0]


def tile_limits(target: str | None = None) -> dict:
    return _TILE_SIZE[target or active_target()]


class _TileSize:
    """``nl.tile_size``: attributes resolve for the target of the running kernel."""

    def __getattr__(self, name: str):
        limits = tile_limits()
        if name in limits:
            return limits[name]
        raise AttributeError(f"nl.tile_size has no field {name!r}; fields: {sorted(limits)}")

    def __repr__(self) -> str:
        return f"nl.tile_size({tile_limits()})"


tile_size = _TileSize()


class _Fp32:
    min = float(np.finfo(np.float32).min)
    max = float(np.finfo(np.float32).max)
    tiny = float(np.finfo(np.float32).tiny)
    eps = float(np.finfo(np.float32).eps)


fp32 = _Fp32()


class _Bfp16:
    min = float(ml_dtypes.finfo(ml_dtypes.bfloat16).min)
    max = float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)


bfp16 = _Bfp16()
