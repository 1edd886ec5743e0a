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
    def __init__(self, kind: str):
        self.kind = kind

    def alloc(self, func) -> _Allocator:
        return _Allocator(self.kind, None, 0, (), func=func)

    def mod_alloc(self, *, base_addr: int = 0, base_partition: int = 0, num_par_tiles=(), num_free_tiles=(),
                  base_bank: int | None = None, **kwargs) -> _Allocator:
        if base_bank is not None:
            base_addr = base_bank * PSUM_BANK_BYTES
        return _Allocator(self.kind, base_addr, base_partition, num_free_tiles)

    def auto_alloc(self):
        return buffers.sbuf if self.kind == SBUF else buffers.psum


sbuf = _Space(SBUF)
psum = _Space(PSUM)


def _passthrough_decorator(fn=None, **kwargs):
    if fn is None:
        return lambda f: f
    return fn


skip_middle_end_transformations = _passthrough_decorator
enable_stack_allocator = _passthrough_decorator
force_auto_alloc = _passthrough_decorator


@contextlib.contextmanager
def no_reorder():
    """Instructions inside keep program order (recorded on the loop frame kind)."""
    yield


def multi_buffer(n: int):
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            return fn(*a, **k)
        return wrapper
    return deco
