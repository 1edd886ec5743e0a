"""``nl.load`` and ``nl.store``: DMAs between HBM and on-chip tiles, optionally masked."""

from __future__ import annotations

import numpy as np

from autocomp.nki.dtypes import float32
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, HBM, PSUM, SBUF
from autocomp.nki.v1.isa.movement import is_skip_mode, skip_out_of_bounds
from autocomp.nki.v1.language.creation import full


def load(src: Tile, *, mask=None, dtype=None, **kwargs) -> Tile:
    """HBM -> a new SBUF tile. Index ``src`` with an SBUF tile for an indirect (gather) load."""
    if mask is None and src.__class__ is Tile:
        dst = _data.load_whole(src, dtype, "nl.load")
        if dst is not None:
            return dst
    if mask is not None:
        mask = check_mask(mask)
    _operand(src, "nl.load", "src")
    alloc = src.alloc
    if alloc.buffer != HBM:
        raise_error("err_unsupported_memory",
                    f"nl.load reads HBM, but the source is in {src.buffer.upper()}; use nl.copy for on-chip tiles")
    shape = src.shape if len(src.shape) >= 2 else (1,) + tuple(src.shape) if src.shape else (1, 1)
    if shape[0] > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"nl.load of a {list(src.shape)} region gives {shape[0]} partitions, over the limit of 128; "
                    "load in tiles of at most 128 rows")
    dst = _new_tile(shape, dtype or alloc.dtype, SBUF)
    if is_skip_mode(kwargs.get("mode")):  # deployed kernels pass nisa.dma_copy's oob_mode as mode=
        mask = skip_out_of_bounds(mask, src)
    _data.dma_copy(dst, src, "nl.load", mask=mask)
    return dst


def store(dst: Tile, value, *, mask=None, **kwargs) -> None:
    """A tile -> HBM. A PSUM value costs an extra copy to SBUF first."""
    mask = check_mask(mask)
    _operand(dst, "nl.store", "dst")
    if dst.buffer != HBM:
        raise_error("err_unsupported_memory",
                    f"nl.store writes HBM, but the destination is in {dst.buffer.upper()}; assign on-chip tiles with "
                    "t[...] = value")
    if isinstance(value, (int, float)):
        value = full((dst.shape[0] if dst.shape else 1, int(np.prod(dst.shape[1:])) or 1), value, dst.dtype)
    value = _operand(value, "nl.store", "value")
    if value.buffer == PSUM:
        staged = _new_tile(value.shape, value.dtype if value.dtype != float32 or dst.dtype == float32 else dst.dtype,
                           SBUF)
        _data.tensor_copy(staged, value, "nl.store", engine=ACT, mask=mask)
        staged.alloc.producer = None
        value = staged
    if is_skip_mode(kwargs.get("mode")):
        mask = skip_out_of_bounds(mask, dst)
    _data.dma_copy(dst, value, "nl.store", mask=mask)
    dst.alloc.producer = None
