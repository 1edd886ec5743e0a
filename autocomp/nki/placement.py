"""Direct allocation and compiler directives, the ``compiler`` module of both dialects.

Direct allocation places a tensor at a fixed SBUF/PSUM address. The simulator
records the address for the cost model and checks it fits the usable space and
the alignment rules; compiler directives are accepted and recorded as no-ops.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from autocomp.nki import buffers
from autocomp.nki.errors import raise_error
from autocomp.nki.runtime import current
from autocomp.nki.trace import PSUM, SBUF

PSUM_BANK_BYTES = 2048


class _Allocator:
    """What ``ncc.sbuf.mod_alloc(...)`` returns, passed as ``buffer=`` to nl.ndarray."""

    def __init__(self, kind: str, base_addr: int | None, base_partition: int, num_free_tiles, func=None):
        self.buffer_kind = kind
        self.base_addr = base_addr
        self.base_partition = base_partition
        self.num_free_tiles = tuple(num_free_tiles or ())
        self.func = func

    def place(self, dims, par, dtype) -> tuple[int, int]:
        free_bytes = int(np.prod(dims[par + 1:] or (1,))) * dtype.itemsize
        tiles = int(np.prod(self.num_free_tiles)) if self.num_free_tiles else 1
        base = self.base_addr
        if base is None and self.func is not None:
            base = int(self.func(*([0] * max(par, 1))))
        base = base or 0
        p = dims[par]
        start = self.base_partition
        if (p > 64 and start != 0) or (32 < p <= 64 and start not in (0, 64)) or (p <= 32 and start % 32):
            raise_error("err_partition_start_misaligned",
                        f"a tile of {p} partitions cannot start at partition {start}: tiles over 64 partitions start "
                        "at 0, over 32 at 0 or 64, others at a multiple of 32")
        if self.buffer_kind == PSUM:
            if base % PSUM_BANK_BYTES:
                raise_error("err_partition_start_misaligned",
                            f"PSUM tensors must start on a bank boundary (multiple of 2048 bytes), got {base}")
            limit = PSUM_BANK_BYTES * 8
        else:
            limit = current().spec.tile.sbuf_fmax_bytes
        if base + free_bytes * tiles > limit:
            raise_error("err_sbuf_capacity_exceeded" if self.buffer_kind == SBUF else "err_psum_capacity_exceeded",
                        f"direct allocation at byte {base} of {tiles} x {free_bytes} bytes per partition exceeds the "
                        f"{limit} usable bytes per partition of {self.buffer_kind.upper()}")
        return (start, base)


class _Space:
    """``ncc.sbuf`` / ``ncc.psum``: ``alloc(func)``, ``mod_alloc(...)`` and ``auto_alloc()``."""

    def __init__(self, kind: str):
        self.kind = kind

    def alloc(self, func) -> _Allocator:
        return _Allocator(self.kind, None, 0, (), func=func)

    def auto_alloc(self):
        return buffers.sbuf if self.kind == SBUF else buffers.psum


class _SbufSpace(_Space):
    def mod_alloc(self, *, base_addr, base_partition=0, num_par_tiles=(), num_free_tiles=()) -> _Allocator:
        """Tiles at ``base_addr`` bytes of each partition from ``base_partition``, rotating over the given tiles."""
        return _Allocator(self.kind, base_addr, base_partition, num_free_tiles)


class _PsumSpace(_Space):
    def mod_alloc(self, *, base_bank, base_addr=0, base_partition=0, num_bank_tiles=(), num_par_tiles=(),
                  num_free_tiles=()) -> _Allocator:
        """Tiles from PSUM bank ``base_bank`` (byte ``base_addr`` in it), one bank per ``num_bank_tiles`` tile."""
        banks = int(np.prod(num_bank_tiles)) if num_bank_tiles else 1
        if not 0 <= int(base_bank) or int(base_bank) + banks > 8:
            raise_error("err_psum_capacity_exceeded",
                        f"ncc.psum.mod_alloc(base_bank={base_bank}, num_bank_tiles={tuple(num_bank_tiles)}): the "
                        "tiles need PSUM banks beyond the 8 of a partition")
        return _Allocator(self.kind, int(base_bank) * PSUM_BANK_BYTES + int(base_addr), base_partition,
                          num_free_tiles)


sbuf = _SbufSpace(SBUF)
psum = _PsumSpace(PSUM)


def _passthrough(func):
    return func if func is not None else (lambda f: f)


def skip_middle_end_transformations(func=None):
    """A compiler directive: accepted and ignored (the simulator has no middle end)."""
    return _passthrough(func)


def enable_stack_allocator(func=None, log_level=50):
    """A compiler directive: accepted and ignored (the simulator places tensors itself)."""
    return _passthrough(func)


def force_auto_alloc(func=None):
    """A compiler directive: accepted and ignored (the simulator places tensors itself)."""
    return _passthrough(func)


@contextlib.contextmanager
def allocation_scope():
    """A compiler directive scoping allocations: accepted and ignored."""
    yield


@contextlib.contextmanager
def no_reorder():
    """Instructions inside keep program order (recorded on the loop frame kind)."""
    yield


def multi_buffer(factor=2):
    """A compiler directive (buffer a kernel ``factor`` times): accepted and ignored."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            return fn(*a, **k)
        return wrapper
    return deco
