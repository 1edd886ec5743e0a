"""Direct allocation and compiler directives, the ``compiler`` module of both dialects.

Direct allocation places a tensor at a fixed SBUF/PSUM address. The simulator
records the address for the cost model and checks it fits the usable space and
the alignment rules; compiler directives are accepted and recorded as no-ops.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools

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
        """(start partition, byte address) of the tensor's first block; every block's placement is checked."""
        free_bytes = int(np.prod(dims[par + 1:] or (1,))) * dtype.itemsize
        p = dims[par]
        if self.func is None:
            start, base = self.base_partition, self.base_addr or 0
            self._check(start, base, p, free_bytes * self._tiles_used(tuple(int(b) for b in dims[:par])))
            return (start, base)
        first = None
        blocks = tuple(int(b) for b in dims[:par])
        for n, idx in enumerate(itertools.product(*(range(b) for b in blocks))):
            if n == _CHECKED_BLOCKS:
                break  # the placements of a few thousand blocks show a faulty function
            start, base = self._from_func(idx, p, free_bytes)
            self._check(start, base, p, free_bytes)
            first = first or (start, base)
        return first

    def _tiles_used(self, blocks: tuple[int, ...]) -> int:
        """How many physical tiles modulo allocation reaches: as the docs define mod_alloc, block ``idx`` goes
        to tile ``linearize(num_free_tiles, idx % num_free_tiles)``, so a tensor without block dimensions uses
        one tile whatever ``num_free_tiles`` says (AWS's attention tutorial relies on it)."""
        shape = self.num_free_tiles or (1,) * len(blocks)
        last = [min(b, t) - 1 for b, t in zip(blocks, shape)]  # the highest index reached in each dimension
        return 1 + sum(i * int(np.prod(shape[d + 1:] or (1,))) for d, i in enumerate(last))

    def _from_func(self, idx: tuple, pdim_size: int, fdim_size: int) -> tuple[int, int]:
        """Call the ``ncc.<space>.alloc(func)`` callback as the docs define it: ``func(idx, pdim_size, fdim_size)``
        with ``idx`` the block index tuple, returning ``(bank_id, start_partition, byte_addr)`` for PSUM and
        ``(start_partition, byte_addr)`` for SBUF. Deployed kernels bind leading parameters with
        ``functools.partial(f, bank_map=...)``, so the three are passed by name when the callable takes them so."""
        func = self.func
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}
        if all(name in params for name in ("idx", "pdim_size", "fdim_size")):
            got = func(idx=idx, pdim_size=pdim_size, fdim_size=fdim_size)
        else:
            got = func(idx, pdim_size, fdim_size)
        width = 3 if self.buffer_kind == PSUM else 2
        what = "(bank_id, start_partition, byte_addr)" if width == 3 else "(start_partition, byte_addr)"
        if not isinstance(got, (tuple, list)) or len(got) != width:
            raise_error("err_invalid_argument",
                        f"ncc.{self.buffer_kind}.alloc: the allocation function must return {what} for block {idx}, "
                        f"got {got!r}")
        try:
            values = [int(v) for v in got]
        except (TypeError, ValueError):
            raise_error("err_invalid_argument",
                        f"ncc.{self.buffer_kind}.alloc: the allocation function returned {got!r} for block {idx}; "
                        f"it must return integers {what}")
        if width == 3:
            bank, start, addr = values
            return start, bank * PSUM_BANK_BYTES + addr
        return values[0], values[1]

    def _check(self, start: int, base: int, p: int, nbytes: int) -> None:
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
        if base < 0 or base + nbytes > limit:
            raise_error("err_sbuf_capacity_exceeded" if self.buffer_kind == SBUF else "err_psum_capacity_exceeded",
                        f"direct allocation at byte {base} of {nbytes} bytes per partition exceeds the "
                        f"{limit} usable bytes per partition of {self.buffer_kind.upper()}")


_CHECKED_BLOCKS = 4096


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
