"""Copies that return a new SBUF tile: ``nl.copy`` on chip and ``nl.load_transpose2d`` from HBM."""

from __future__ import annotations

from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, DVE, PSUM, SBUF


def load_transpose2d(src: Tile, *, mask=None, dtype=None, **kwargs) -> Tile:
    """HBM [F, P] -> SBUF [P, F] through a (slow) transposing DMA."""
    mask = check_mask(mask)
    _operand(src, "nl.load_transpose2d", "src")
    if len(src.shape) != 2:
        raise_error("err_exceed_max_supported_dimension", "nl.load_transpose2d takes a 2-D HBM region")
    if src.shape[1] > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"nl.load_transpose2d of {list(src.shape)} gives {src.shape[1]} partitions, over 128")
    dst = _new_tile((src.shape[1], src.shape[0]), dtype or src.dtype, SBUF)
    _data.dma_copy(dst, src, "nl.load_transpose2d", transpose=True)
    return dst


def copy(src, *, mask=None, dtype=None, engine=None, **kwargs) -> Tile:
    """A new SBUF tile holding src (with an optional cast)."""
    mask = check_mask(mask)
    src = _operand(src, "nl.copy", "src")
    dst = _new_tile(src.shape, dtype or src.dtype, SBUF)
    _data.tensor_copy(dst, src, "nl.copy", engine=ACT if src.buffer == PSUM else DVE, mask=mask)
    return dst
