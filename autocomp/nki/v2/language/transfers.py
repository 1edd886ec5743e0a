"""``nl.load`` and ``nl.store`` (nki >= 0.3 wrappers): one DMA between HBM and SBUF, no masks."""

from __future__ import annotations

from autocomp.nki.dtypes import float32
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as _data
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, HBM, PSUM
from autocomp.nki.v2.language.memory import allocate, sbuf
from autocomp.nki.v2.views import NkiTensor


def load(src, dtype=None) -> NkiTensor:
    """HBM -> a new SBUF tensor through one DMA (no masks in the v2 dialect)."""
    api = "nl.load"
    if not isinstance(src, Tile):
        raise_error("err_invalid_argument", f"{api}: src must be an HBM tensor, got {type(src).__name__}")
    if src.buffer != HBM:
        raise_error("err_unsupported_memory",
                    f"{api}: src is in {src.buffer.upper()}; nl.load reads HBM (use nisa.tensor_copy on chip)")
    shape = tuple(src.shape) if len(src.shape) >= 2 else ((1,) + tuple(src.shape) if src.shape else (1, 1))
    dst = allocate(shape, dtype or src.dtype, sbuf, "", None, api)
    _data.dma_copy(dst, src, api)
    return dst


def store(dst, value) -> None:
    """A tensor -> HBM through one DMA; a PSUM value is first copied to SBUF (one extra instruction)."""
    api = "nl.store"
    if not isinstance(dst, Tile) or dst.buffer != HBM:
        raise_error("err_unsupported_memory", f"{api}: dst must be an HBM tensor")
    if not isinstance(value, Tile):
        raise_error("err_invalid_argument", f"{api}: value must be a tensor, got {type(value).__name__}")
    if value.buffer == PSUM:
        staged = allocate(value.shape, dst.dtype if value.dtype == float32 else value.dtype, sbuf, "", None, api)
        _data.tensor_copy(staged, value, api, engine=ACT)
        value = staged
    _data.dma_copy(dst, value, api)
