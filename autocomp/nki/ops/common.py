"""Shared pieces of every operation: operand checks, result tiles, values, tracing.

The core operations (this package) are dialect-free and destination-first: each
takes the tile it writes. The value-returning calls (``autocomp.nki.functional``, the
v1 ISA) allocate a fresh result tile and pass it in; the v2 ISA passes the user's ``dst``.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.runtime import current
from autocomp.nki.source import fast_kernel_line
from autocomp.nki.tile import Allocation, Tile
from autocomp.nki.trace import (  # noqa: F401 - the ops import the engine ids from here
    ACT,
    DVE,
    ENGINE_NAMES,
    HBM,
    PE,
    POOL,
    PSUM,
    SBUF,
    SP,
    Instruction,
)

PMAX = 128
# Engine selectors as kernels spell them (nisa.vector_engine, nisa.engine.vector, ...): an engine's name or id,
# and the API's own aliases.
ENGINE_SELECTORS = {**{name: engine for engine, name in ENGINE_NAMES.items()}, **{e: e for e in ENGINE_NAMES},
                    "activation": ACT, "unknown": None, None: None}


def engine_of(value, default: str | None) -> str | None:
    """Resolve an ``engine=`` argument to a trace engine name (None lets us choose)."""
    name = getattr(value, "value", value)
    if isinstance(name, str):
        key = name.lower().replace("_engine", "").replace("engine.", "")
        if key in ENGINE_SELECTORS:
            return ENGINE_SELECTORS[key] or default
    if value is None:
        return default
    raise_error("err_invalid_argument", f"unknown engine {value!r}; use nisa.vector_engine, nisa.scalar_engine, "
                                        "nisa.gpsimd_engine or nisa.tensor_engine")


def require_nc(version: int, api: str) -> None:
    """Raise err_unsupported_operation unless the target's NeuronCore is ``version`` or newer."""
    from autocomp import targets

    spec = current().spec
    have = spec.nc_version
    if have < version:
        newer = "/".join(n for n in targets.names() if targets.get(n).nc_version >= version)
        raise_error("err_unsupported_operation",
                    f"{api} needs NeuronCore-v{version} or newer ({newer}); the target {spec.name} is "
                    f"NeuronCore-v{have}")


def new_tile(shape, dtype, buffer: str = SBUF, name: str | None = None, fill="sentinel", kind: str = "internal",
             par_axis: int | None = None, address=None) -> Tile:
    ctx = current()
    if shape.__class__ is not tuple:
        shape = tuple(shape)
    for s in shape:
        if s.__class__ is not int:
            shape = tuple(int(s) for s in shape)
            break
    if par_axis is None:
        par_axis = 0 if buffer == SBUF or buffer == PSUM else -1
    if not isinstance(dtype, np.dtype):
        dtype = dt.as_dtype(dtype)
    alloc = Allocation(ctx, name, buffer, shape, dtype, par_axis,
                       kind=kind, fill=fill, address=address)
    return Tile(alloc, None, shape=shape)


def operand(x, api: str, arg: str) -> Tile:
    """An input tile; using it ends its life as an assignable temporary."""
    if isinstance(x, Tile):
        a = x.alloc
        a.producer = None
        if a.scope:
            ctx = current()
            if a.scope not in ctx.active_loops and ctx.dialect == "v1":
                raise_error("err_local_variable_used_out_of_scope",
                            f"{api}: tensor {a.name} was created inside a loop and is used after the loop ended; "
                            "allocate it before the loop if its value must outlive the loop")
        return x
    # a tile/block grid (v2 nl.tiles) is a view in tile coordinates; its operand is grid.data
    hint = "; pass the grid's selection as a tensor: .data" if hasattr(type(x), "is_data_representable") else ""
    raise_error("err_invalid_argument",
                f"{api}: argument {arg!r} must be a tile (a tensor or an indexed region of one), got "
                f"{type(x).__name__}{hint}")


def on_chip(t: Tile, api: str, arg: str, allowed=(SBUF, PSUM)) -> Tile:
    if t.buffer not in allowed:
        where = " or ".join(b.upper() for b in allowed)
        raise_error("err_unsupported_memory",
                    f"{api}: {arg} is in {t.buffer.upper()} but must be in {where}; "
                    + ("load it with nl.load / nisa.dma_copy first" if t.buffer == HBM else
                       "copy it to SBUF first (nl.copy / nisa.tensor_copy)"))
    return t


def tile_checks(t: Tile, api: str, arg: str) -> None:
    """A compute operand: partition dimension first and at most 128 partitions."""
    a = t.alloc
    if a.par_axis == 0 and t.arrays is None and t.perm is None and len(t.shape) >= 2 and t.shape[0] <= PMAX and (
            t.spec is None or t.spec[0].__class__ is not int):
        return  # the common case: a plain 2-D+ tile of a partition-first tensor
    if t.alloc.on_chip and not t.partition_first:
        raise_error("err_failed_to_infer_tile_from_local_tensor",
                    f"{api}: {arg} of tensor {t.alloc.name} {list(t.alloc.shape)} does not start with the partition "
                    "dimension; index its block dimensions first, e.g. t[i] for a tensor declared "
                    "(n, nl.par_dim(128), ...)")
    if t.shape and t.shape[0] > PMAX:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"{api}: {arg} has {t.shape[0]} partitions, which exceeds the architecture limit of {PMAX}; "
                    "tile the partition dimension in chunks of nl.tile_size.pmax (128)")
    if len(t.shape) < 2 and t.alloc.on_chip:
        raise_error("err_insufficient_rank",
                    f"{api}: {arg} is 1-D; on-chip tiles need a partition and a free dimension, e.g. shape (P, 1)")


def free_size(t: Tile) -> int:
    n = 1
    for s in t.shape[1:]:
        n *= s
    return n


def compute_values(t: Tile, mask: Mask | None = None) -> np.ndarray:
    """Read a tile as the engines see it: float32 for floats, int64 for integer types."""
    v = t.read(mask)
    if dt.is_float(v.dtype):
        return v.astype(np.float32, copy=False) if v.dtype != np.float32 else v
    if v.dtype == np.bool_:
        return v.astype(np.int32)
    return v.astype(np.int64, copy=False)


def broadcast_to_dst(values: np.ndarray, shape: tuple[int, ...], api: str) -> np.ndarray:
    try:
        return np.broadcast_to(values, shape)
    except ValueError:
        raise_error("err_num_partition_mismatch" if values.shape[:1] != shape[:1] else "err_invalid_argument",
                    f"{api}: a value of shape {list(values.shape)} cannot be written to a destination of shape "
                    f"{list(shape)}")


def numerics() -> bool:
    return current().numerics


def record(opcode: str, engine: str, api: str, dst: tuple, src: tuple, partitions: int, elems: int,
           attrs: dict | None = None, producer_of: Tile | None = None, mask: Mask | None = None, ctx=None,
           internal: int = 2):
    """Append one instruction to the trace (this runs once per instruction: the body is inlined). Hot callers
    pass their ``ctx``. ``internal``: how many frames up from here are autocomp for sure (this function and its
    caller); callers that are only ever called by an autocomp wrapper pass 3. The kernel line is looked up
    from there on: every frame skipped is one Python need not materialise, ~0.5 us each."""
    if ctx is None:
        ctx = current()
    fn, line = fast_kernel_line(internal)
    trace = ctx.trace
    instructions = trace.instructions
    loc = trace._file_index.get(fn)
    if loc is None:
        loc = trace.file_id(fn)
    ins = Instruction(len(instructions), opcode, engine, api, dst, src, partitions, elems, attrs, loc, line, ctx.loop,
                      ctx.instance)
    instructions.append(ins)
    if producer_of is not None:
        alloc = producer_of.alloc
        if alloc.kind == "internal":
            alloc.producer = ins
            alloc.pending_mask = mask
    return ins


def accesses(*tiles, mask: Mask | None = None) -> tuple:
    if len(tiles) == 1 and tiles[0].__class__ is Tile:
        return (tiles[0].access(mask),)
    return tuple([t.access(mask) for t in tiles if isinstance(t, Tile)])
