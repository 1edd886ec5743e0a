"""What kernels see of the target: ``nl.tile_size``, ``nl.fp32``, and the target a frontend launches on.

The limits come from the target's record (``autocomp.targets``): inside a running kernel the
kernel's own target, outside one the default target of the frontend the kernel file imported.
"""

from __future__ import annotations

import dataclasses

import ml_dtypes
import numpy as np

from autocomp import targets
from autocomp.nki.runtime import current_or_none, target_record
from autocomp.targets import Target, TileLimits

_TILE_FIELDS = frozenset(f.name for f in dataclasses.fields(TileLimits))


class FrontendState:
    """What one dialect frontend remembers between launches: the target of kernels called without one.

    Each frontend's top module holds one (``STATE``); ``autocomp.nki.install(target=)`` sets the
    installed frontends' (``None``: NEURON_PLATFORM_TARGET_OVERRIDE, else the default target).
    Before any install it is the default target.
    """

    def __init__(self) -> None:
        self.default_target: Target = targets.get()
        self.nki_version: str | None = None  # the pinned release of the current dialect; None: the modelled one

    def set_default_target(self, target: str | Target | None) -> None:
        self.default_target = target_record(target)

    def active_target(self) -> Target:
        """The running kernel's target, or outside a kernel this frontend's default."""
        ctx = current_or_none()
        return ctx.spec if ctx is not None else self.default_target


class TileSize:
    """``nl.tile_size``: attributes resolve for the target of the running kernel (else the frontend's default)."""

    def __init__(self, frontend: FrontendState) -> None:
        self._frontend = frontend

    def __getattr__(self, name: str):
        if name in _TILE_FIELDS:
            return getattr(self._frontend.active_target().tile, name)
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"nl.tile_size has no field {name!r}; fields: {sorted(_TILE_FIELDS)}")

    def __repr__(self) -> str:
        return f"nl.tile_size({self._frontend.active_target().tile.as_dict()})"


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
