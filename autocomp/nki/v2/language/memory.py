"""Where v2 tensors live: buffer objects (never strings), and the checks of an allocation.

The first dimension of an on-chip tensor is always its partition dimension; an
``address=(partition, byte offset)`` places it directly, within the alignment
rules and the usable bytes of a partition.
"""

from __future__ import annotations

import math

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.runtime import current as _current
from autocomp.nki.storage import Allocation as _Allocation
from autocomp.nki.trace import HBM, PSUM, SBUF
from autocomp.nki.v2 import versioning
from autocomp.nki.v2.views import NkiTensor

PSUM_BANK_BYTES = 2048


class Buffer:
    """A memory space object (``nl.sbuf``, ``nl.psum``, ``nl.hbm``, ``nl.shared_hbm``, ``nl.private_hbm``).

    Equal to the tensor's ``buffer`` name, so ``t.buffer == nl.sbuf`` holds.
    """

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    def __eq__(self, other) -> bool:
        if isinstance(other, Buffer):
            return self.name == other.name
        if isinstance(other, str):
            return other in (self.name, self.kind)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.kind)

    def __repr__(self) -> str:
        return f"nl.{self.name}"


sbuf = Buffer("sbuf", SBUF)
psum = Buffer("psum", PSUM)
hbm = Buffer("hbm", HBM)
private_hbm = Buffer("private_hbm", HBM)
shared_hbm = Buffer("shared_hbm", HBM)


class MemoryRegion:
    """The memory regions as one namespace: ``nl.MemoryRegion.sbuf is nl.sbuf`` (and psum, private_hbm,
    shared_hbm)."""

    sbuf, psum, private_hbm, shared_hbm = sbuf, psum, private_hbm, shared_hbm


def _kind_of(buffer) -> str | None:
    """The memory of a buffer object, a buffer name (a tensor's ``.buffer``) or a tensor."""
    if isinstance(buffer, Buffer):
        return buffer.kind
    if isinstance(buffer, str):
        named = {b.name: b.kind for b in (sbuf, psum, hbm, private_hbm, shared_hbm)}
        return named.get(buffer, buffer if buffer in (SBUF, PSUM, HBM) else None)
    alloc = getattr(buffer, "alloc", None)
    return getattr(alloc, "buffer", None) or getattr(buffer, "kind", None)


def is_psum(buffer) -> bool:
    """Whether ``buffer`` is PSUM."""
    return _kind_of(buffer) == PSUM


def is_sbuf(buffer) -> bool:
    """Whether ``buffer`` is SBUF."""
    return _kind_of(buffer) == SBUF


def is_hbm(buffer) -> bool:
    """Whether ``buffer`` is any HBM (nl.hbm, nl.private_hbm, nl.shared_hbm)."""
    return _kind_of(buffer) == HBM


def is_on_chip(buffer) -> bool:
    """Whether ``buffer`` is on chip (SBUF or PSUM)."""
    return _kind_of(buffer) in (SBUF, PSUM)


def par_dim(size):
    """The v1 partition-dimension marker. Block dimensions are gone from NKI 0.7: refused there; with NKI 0.6
    pinned it is accepted as a plain size, with a warning (docs/nki-semantics.md#nki-versions)."""
    versioning.removed((0, 7), "nl.par_dim (block dimensions)",
                       "the partition dimension is always the first one: pass its plain size first, and turn "
                       "block dimensions in front of it into a list of tensors or free dimensions")
    warn("nl.par_dim is a legacy-dialect marker; in the current dialect the first dimension is always the "
         "partition dimension, so pass the plain size", "warn_legacy_par_dim")
    return int(size)


def buffer_kind(buffer, api: str) -> tuple[str, bool]:
    if isinstance(buffer, Buffer):
        return buffer.kind, buffer.name == "shared_hbm"
    if isinstance(buffer, str):
        raise_error("err_string_buffer_name",
                    f"{api}: buffer={buffer!r} is a string; pass the buffer object instead (nl.{buffer} — string "
                    "buffer names are not accepted from nki 0.3)")
    kind = getattr(buffer, "kind", None)  # a v1 buffer object (autocomp.nki.buffers) in a mixed kernel
    if kind in (SBUF, PSUM, HBM):
        return kind, getattr(buffer, "name", "") == "shared_hbm"
    raise_error("err_invalid_argument", f"{api}: unknown buffer {buffer!r}; use nl.sbuf, nl.psum, nl.hbm or "
                                        "nl.shared_hbm")


def _shape(shape, api: str) -> tuple[int, ...]:
    if shape.__class__ is tuple:
        for s in shape:
            if s.__class__ is not int:
                break
        else:
            return shape  # the usual case: already a tuple of ints
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise_error("err_invalid_argument", f"{api}: shape must be a tuple of ints, got {shape!r}")


def allocate(shape, dtype, buffer, name: str, address, api: str) -> NkiTensor:
    ctx = _current()
    dims = _shape(shape, api)
    kind, shared = buffer_kind(buffer, api)
    dtype = _dt.as_dtype(dtype)
    if kind == HBM:
        if shared and ctx.shared_cursor < len(ctx.shared_allocs):
            # LNC instances share shared_hbm tensors: the n-th allocation is the same tensor in each.
            alloc = ctx.shared_allocs[ctx.shared_cursor]
            ctx.shared_cursor += 1
            return NkiTensor(alloc, None)
        alloc = _Allocation(ctx, name or f"hbm{ctx.next_tensor_id}", HBM, dims, dtype, -1,
                            kind="output" if shared else "internal", address=address)
        if shared:
            ctx.shared_allocs.append(alloc)
            ctx.shared_cursor += 1
        return NkiTensor(alloc, None)
    if len(dims) < 2:
        raise_error("err_insufficient_rank",
                    f"{api}: an {kind.upper()} tensor of shape {list(dims)} needs a partition and a free dimension, "
                    "e.g. shape (P, 1)")
    if dims[0] > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"{api}: partition dimension {dims[0]} of {list(dims)} exceeds the architecture limit of 128; "
                    "tile it by nl.tile_size.pmax")
    free_bytes = math.prod(dims[1:]) * dtype.itemsize
    limit = PSUM_BANK_BYTES * 8 if kind == PSUM else ctx.spec.tile.sbuf_fmax_bytes
    if free_bytes > limit:
        raise_error("err_size_of_dimension_exceed_arch_limit",
                    f"{api}: {free_bytes} bytes per partition exceed the {limit} usable bytes of a "
                    f"{kind.upper()} partition")
    if address is not None:
        address = _check_address(address, dims, free_bytes, kind, limit, api)
    # dims are ints and dtype a numpy dtype by now: the allocation without new_tile's normalising
    return NkiTensor(_Allocation(ctx, name, kind, dims, dtype, 0, address=address), None)


def _check_address(address, dims, free_bytes: int, kind: str, limit: int, api: str) -> tuple[int, int]:
    try:
        start, offset = (int(a) for a in address)
    except (TypeError, ValueError):
        raise_error("err_invalid_argument", f"{api}: address must be (partition, byte_offset), got {address!r}")
    p = dims[0]
    if (p > 64 and start != 0) or (32 < p <= 64 and start not in (0, 64)) or (p <= 32 and start % 32):
        raise_error("err_partition_start_misaligned",
                    f"{api}: a tensor of {p} partitions cannot start at partition {start}: over 64 partitions start "
                    "at 0, over 32 at 0 or 64, others at a multiple of 32")
    if kind == PSUM and offset % PSUM_BANK_BYTES:
        raise_error("err_partition_start_misaligned",
                    f"{api}: PSUM tensors start on a bank boundary (a multiple of 2048 bytes), got byte {offset}")
    if start + p > 128 or offset < 0 or offset + free_bytes > limit:
        raise_error("err_sbuf_capacity_exceeded" if kind == SBUF else "err_psum_capacity_exceeded",
                    f"{api}: address {(start, offset)} with {free_bytes} bytes per partition does not fit the "
                    f"{limit} usable bytes of {kind.upper()}")
    return start, offset
