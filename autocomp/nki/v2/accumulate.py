"""PSUM accumulation groups of the v2 dialect, tracked per element.

``nc_matmul(..., accumulate=None)`` overwrites a PSUM element the first time a
matmul writes it since allocation and adds to it afterwards, so overlapping
regions (the convolution pattern) accumulate exactly where they overlap. Each
PSUM allocation keeps one flag byte per element: written by a matmul, and/or
initialised by another instruction (memset, copy, activation, transpose).
"""

from __future__ import annotations

import weakref

import numpy as np

from autocomp import targets
from autocomp.nki.errors import warn
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops.common import numerics
from autocomp.nki.ops.operands import ctx_state
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import PSUM

MATMUL = 1
OTHER = 2


def _flags(alloc) -> np.ndarray:
    table = ctx_state("v2_psum_flags", weakref.WeakKeyDictionary)
    f = table.get(alloc)
    if f is None:
        f = table[alloc] = np.zeros(alloc.shape, dtype=np.uint8)
    return f


def _region(t: Tile, flags: np.ndarray):
    """The flags of the tile's elements: a writable view when the tile is a strided view, else addresses."""
    from autocomp.nki.v2.views import NkiTensor, as_tensor

    v = as_tensor(t)
    if isinstance(v, NkiTensor) and v.addr is None and v.vdtype is None:
        view = v.host_values(flags)
        if np.may_share_memory(view, flags):
            return view, None
    addr = v.addresses() if isinstance(v, NkiTensor) else None
    return flags.reshape(-1)[addr], addr


def mark_written(*tiles) -> None:
    """A non-matmul instruction wrote these tiles: PSUM elements count as initialised."""
    for t in tiles:
        if isinstance(t, Tile) and t.buffer == PSUM:
            flags = _flags(t.alloc)
            view, addr = _region(t, flags)
            if addr is None:
                view |= OTHER
            else:
                flags.reshape(-1)[addr] |= OTHER


def matmul(dst: Tile, stationary: Tile, moving: Tile, accumulate, api: str, **flags):
    """The core nc_matmul with v2 accumulation semantics (None: per element, first write overwrites)."""
    if dst.buffer != PSUM:
        return _mm.nc_matmul(dst, stationary, moving, api, accumulate=bool(accumulate), **flags)
    table = _flags(dst.alloc)
    state, addr = _region(dst, table)
    done = (state & MATMUL) != 0
    mixed = False
    if accumulate is None:
        mode = bool(done.all()) if done.size else False
        mixed = bool(done.any()) and not mode
    else:
        mode = bool(accumulate)
        if mode:
            _check_accumulate(dst, state, done, api)
    if mixed:
        prev = np.array(dst.read(), dtype=np.float32, copy=True) if numerics() else None
        ins = _mm.nc_matmul(dst, stationary, moving, api, accumulate=False, **flags)
        if prev is not None:
            new = dst.read().astype(np.float32)
            dst.write(np.where(done.reshape(dst.shape), prev + new, new))
        ins.attrs["accumulate"] = True
    else:
        ins = _mm.nc_matmul(dst, stationary, moving, api, accumulate=mode, **flags)
    if addr is None:
        state |= MATMUL
    else:
        table.reshape(-1)[addr] |= MATMUL
    return ins


def _check_accumulate(dst: Tile, state: np.ndarray, done: np.ndarray, api: str) -> None:
    if (state == 0).any() and dst.alloc.written:  # the core op warns when the whole tensor is unwritten
        warn(f"{api}: accumulate=True on PSUM elements no instruction initialised; the result is undefined on "
             "hardware. Start the group with accumulate=False (or None)", "warn_uninitialized_accumulate")
    if not current().spec.matmul_accumulates_onto_copies and ((state & OTHER).astype(bool) & ~done).any():
        undefined_on = "/".join(n for n in targets.names() if not targets.get(n).matmul_accumulates_onto_copies)
        warn(f"{api}: accumulating onto PSUM initialised by memset/tensor_copy is undefined on {undefined_on}; start "
             "the accumulation group with an overwriting matmul (accumulate=None or False) instead",
             "warn_accumulate_onto_memset")
