"""``nki.language`` (current dialect): tensors, buffers, dtypes, loops, and convenience wrappers.

Tensors are ``NkiTensor`` views (``views.py``). Buffers are objects, never
strings. The element-wise / reduction / matmul convenience functions (marked
experimental in nki 0.3) reuse the legacy implementations, which allocate a
fresh SBUF/PSUM result, and return it as an NkiTensor.
"""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ACT_FUNCS as _ACT_FUNCS
from autocomp.nki.alu import ALU_OPS as _ALU_OPS
from autocomp.nki.current import accumulate as _acc
from autocomp.nki.current.control import (  # noqa: F401 - nki.language names
    VirtualRegister,
    dynamic_range,
    fori_loop,
    no_reorder,
    static_loop,
    while_loop,
)
from autocomp.nki.current.views import NkiTensor, as_tensor
from autocomp.nki.dtypes import (  # noqa: F401 - re-exported NKI names
    bfloat16,
    bool_,
    float4_e2m1fn_x4,
    float8_e4m3,
    float8_e4m3fn,
    float8_e4m3fn_x4,
    float8_e5m2,
    float8_e5m2_x4,
    float8_e8m0fnu,
    float16,
    float32,
    int8,
    int16,
    int32,
    tfloat32,
    uint8,
    uint16,
    uint32,
)
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.indexing import ds  # noqa: F401
from autocomp.nki.legacy import language as _legacy
from autocomp.nki.ops import data as _data
from autocomp.nki.runtime import current as _current
from autocomp.nki.storage import Allocation as _Allocation
from autocomp.nki.targets_info import fp32, tile_limits, tile_size  # noqa: F401
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, HBM, PSUM, SBUF

PSUM_BANK_BYTES = 2048
bypass = _ALU_OPS["bypass"]


class NKIObject:
    """Base class of user classes passed into kernels (plain Python objects here)."""


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


def par_dim(size):
    """Legacy partition-dimension marker: accepted in the current dialect as a plain size, with a warning."""
    warn("nl.par_dim is a legacy-dialect marker; in the current dialect the first dimension is always the "
         "partition dimension, so pass the plain size", "warn_legacy_par_dim")
    return int(size)


# ---------------------------------------------------------------- creation


def _buffer_kind(buffer, api: str) -> tuple[str, bool]:
    if isinstance(buffer, Buffer):
        return buffer.kind, buffer.name == "shared_hbm"
    if isinstance(buffer, str):
        raise_error("err_string_buffer_name",
                    f"{api}: buffer={buffer!r} is a string; pass the buffer object instead (nl.{buffer} — string "
                    "buffer names are not accepted from nki 0.3)")
    kind = getattr(buffer, "kind", None)  # a legacy buffer object in a mixed kernel
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


def _allocate(shape, dtype, buffer, name: str, address, api: str) -> NkiTensor:
    ctx = _current()
    dims = _shape(shape, api)
    kind, shared = _buffer_kind(buffer, api)
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
    limit = PSUM_BANK_BYTES * 8 if kind == PSUM else tile_limits(ctx.target)["sbuf_fmax_bytes"]
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


def ndarray(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    """A new uninitialised tensor (its memory holds the NaN sentinel until written)."""
    return _allocate(shape, dtype, buffer, name, address, "nl.ndarray")


def full(shape, fill_value, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    """A new on-chip tensor filled by a memset."""
    kind, _ = _buffer_kind(buffer, "nl.full")
    if kind == HBM:
        raise_error("err_hbm_tensor_with_init_value_not_supported",
                    "nl.zeros/ones/full cannot create HBM tensors; create an SBUF tensor, fill it, and "
                    "nisa.dma_copy it to HBM")
    t = _allocate(shape, dtype, buffer, name, address, "nl.full")
    _data.memset(t, fill_value, "nl.full")
    _acc.mark_written(t)
    return t


def zeros(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    return full(shape, 0, dtype, buffer=buffer, name=name, address=address)


def ones(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    return full(shape, 1, dtype, buffer=buffer, name=name, address=address)


def _buffer_of(x: Tile) -> Buffer:
    return {SBUF: sbuf, PSUM: psum, HBM: hbm}[x.buffer]


def ndarray_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return ndarray(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


empty_like = ndarray_like


def zeros_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return zeros(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def ones_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return ones(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def full_like(x, fill_value, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return full(x.shape, fill_value, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def shared_constant(constant, dtype=None) -> NkiTensor:
    return as_tensor(_legacy.shared_constant(constant, dtype))


def shared_identity_matrix(n: int, dtype=uint8) -> NkiTensor:
    return as_tensor(_legacy.shared_identity_matrix(n, dtype))


# ---------------------------------------------------------------- loops and programs


def affine_range(start, stop=None, step=1):
    """Deprecated alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.affine_range")


def sequential_range(start, stop=None, step=1):
    """Deprecated alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.sequential_range")


def static_range(start, stop=None, step=1):
    """Alias of ``range`` (unrolled)."""
    return static_loop("static", (start, stop, step), "nl.static_range")


def program_id(axis: int = 0) -> int:
    """The logical core (LNC) running this instance: 0 or 1 under ``kernel[2]``."""
    ctx = _current()
    return ctx.program_id[axis] if axis < len(ctx.program_id) else 0


def num_programs(axes=0) -> int:
    ctx = _current()
    if isinstance(axes, (tuple, list)):
        return tuple(ctx.grid[a] if a < len(ctx.grid) else 1 for a in axes)
    return ctx.grid[axes] if axes < len(ctx.grid) else 1


def program_ndim() -> int:
    return len(_current().grid)


def device_print(prefix: str, x) -> None:
    """Print a tensor's values from inside the kernel (no instruction)."""
    if isinstance(x, Tile) and x.alloc.data is not None:
        builtins.print(prefix, np.asarray(x.read()))
    else:
        builtins.print(prefix, x)


# ---------------------------------------------------------------- load / store / copy (nki >= 0.3 wrappers)


def load(src, dtype=None) -> NkiTensor:
    """HBM -> a new SBUF tensor through one DMA (no masks in the current dialect)."""
    api = "nl.load"
    if not isinstance(src, Tile):
        raise_error("err_invalid_argument", f"{api}: src must be an HBM tensor, got {type(src).__name__}")
    if src.buffer != HBM:
        raise_error("err_unsupported_memory",
                    f"{api}: src is in {src.buffer.upper()}; nl.load reads HBM (use nisa.tensor_copy on chip)")
    shape = tuple(src.shape) if len(src.shape) >= 2 else ((1,) + tuple(src.shape) if src.shape else (1, 1))
    dst = _allocate(shape, dtype or src.dtype, sbuf, "", None, api)
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
        staged = _allocate(value.shape, dst.dtype if value.dtype == float32 else value.dtype, sbuf, "", None, api)
        _data.tensor_copy(staged, value, api, engine=ACT)
        value = staged
    _data.dma_copy(dst, value, api)


# ---------------------------------------------------------------- convenience compute (experimental in nki 0.3)


def _tensorize(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        return as_tensor(out)
    return call


_WRAPPED = sorted(set(n for n in list(_ALU_OPS) + list(_ACT_FUNCS) + [
    "negative", "invert", "logical_not", "sum", "max", "min", "prod", "mean", "all", "any", "matmul", "transpose",
    "abs", "where", "softmax", "rms_norm", "var", "tan", "dropout", "rand", "copy", "load_transpose2d",
    "broadcast_to", "expand_dims"] if n not in ("bypass", "rsqrt_alu")))
for _name in _WRAPPED:
    _fn = getattr(_legacy, _name, None)
    if callable(_fn) and not isinstance(_fn, type):
        globals()[_name] = _tensorize(_fn)
random_seed = _legacy.random_seed
static_cast = _legacy.static_cast
