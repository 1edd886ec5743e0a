"""``neuronxcc.nki.language`` (legacy dialect): every call returns a fresh tile."""

from __future__ import annotations

import builtins

import numpy as np

from autocomp.nki import alu as _alu
from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ACT_FUNCS, ALU_OPS, AluOp
from autocomp.nki.dtypes import (  # noqa: F401 - re-exported NKI names
    bfloat16,
    bool_,
    float8_e4m3,
    float8_e4m3fn,
    float8_e5m2,
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
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask, arange, check_mask, ds, mgrid  # noqa: F401
from autocomp.nki.legacy.memory import allocate as _allocate
from autocomp.nki.legacy.memory import (  # noqa: F401
    assign,
    hbm,
    inplace,
    par_dim,
    private_hbm,
    psum,
    sbuf,
    shared_hbm,
)
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.runtime import current as _current
from autocomp.nki.runtime import loop_range as _loop_range
from autocomp.nki.targets_info import fp32, tile_size  # noqa: F401
from autocomp.nki.tile import Tile, bind_operator
from autocomp.nki.trace import ACT, DVE, HBM, PE, PSUM, SBUF

# ---------------------------------------------------------------- creation


def ndarray(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    """An uninitialised tensor (its memory holds the NaN sentinel until written)."""
    return _allocate(shape, dtype, buffer, name)


def zeros(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return full(shape, 0, dtype, buffer=buffer, name=name)


def ones(shape, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    return full(shape, 1, dtype, buffer=buffer, name=name)


def full(shape, fill_value, dtype, *, buffer=None, name: str = "", **kwargs) -> Tile:
    """On SBUF a memset; on PSUM ``nl.zeros`` is free (it only opens an accumulation group)."""
    if buffer is not None and getattr(buffer, "kind", None) == HBM:
        raise_error("err_hbm_tensor_with_init_value_not_supported",
                    "HBM tensors cannot be created with an initial value; use nl.ndarray and nl.store")
    t = _allocate(shape, dtype, buffer, name, fill=fill_value)
    if t.buffer == SBUF:
        for block in _blocks(t):
            _data.memset(block, fill_value, "nl.full")
    t.alloc.mark_written()
    t.alloc.producer = None
    return t


def _blocks(t: Tile):
    a = t.alloc
    if a.par_axis == 0:
        yield t
        return
    for idx in np.ndindex(*a.shape[:a.par_axis]):
        yield t[idx]


def zeros_like(x: Tile, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return zeros(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def ones_like(x: Tile, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return ones(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def full_like(x: Tile, fill_value, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return full(x.shape, fill_value, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def empty_like(x: Tile, dtype=None, *, buffer=None, name: str = "") -> Tile:
    return ndarray(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def _buffer_of(x: Tile):
    return {SBUF: sbuf, PSUM: psum, HBM: hbm}[x.buffer]


def shared_constant(constant, dtype=None, **kwargs) -> Tile:
    """An HBM constant holding a host numpy array (usually an identity)."""
    arr = np.asarray(constant)
    dtype = _dt.as_dtype(dtype) if dtype is not None else arr.dtype
    t = _allocate(arr.shape, dtype, hbm, "constant")
    t.alloc.kind = "constant"
    if t.alloc.has_values:
        t.alloc.set_values(_dt.cast_to(arr.astype(np.float32) if arr.dtype.kind == "f" else arr, dtype).copy())
    t.alloc.mark_written()
    return t


def shared_identity_matrix(n: int, dtype=bfloat16, **kwargs) -> Tile:
    return shared_constant(np.eye(int(n), dtype=np.float32), dtype)


# ---------------------------------------------------------------- iteration and SPMD


def affine_range(*args, **kwargs):
    """Independent iterations (the compiler may reorder/pipeline them); run in order here."""
    return _loop_range("affine", args, "nl.affine_range")


def sequential_range(*args, **kwargs):
    return _loop_range("sequential", args, "nl.sequential_range")


def static_range(*args, **kwargs):
    return _loop_range("static", args, "nl.static_range")


def program_id(axis: int) -> int:
    ctx = _current()
    if axis >= len(ctx.program_id):
        return 0
    return ctx.program_id[axis]


def num_programs(axes=None):
    ctx = _current()
    if axes is None:
        return int(np.prod(ctx.grid)) if ctx.grid else 1
    if isinstance(axes, (tuple, list)):
        return tuple(ctx.grid[a] if a < len(ctx.grid) else 1 for a in axes)
    return ctx.grid[axes] if axes < len(ctx.grid) else 1


def program_ndim() -> int:
    return len(_current().grid)


def device_print(prefix: str, x, **kwargs) -> None:
    """Print a tile's values from inside the kernel (free: no instruction)."""
    if isinstance(x, Tile) and x.alloc.data is not None:
        builtins.print(prefix, np.asarray(x.view()))
    else:
        builtins.print(prefix, x)


# ---------------------------------------------------------------- data movement


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
    _data.dma_copy(dst, value, "nl.store", mask=mask)
    dst.alloc.producer = None


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


# ---------------------------------------------------------------- element-wise maths


def _is_scalar_tile(x) -> bool:
    return isinstance(x, Tile) and _free_size(x) == 1


def _per_partition(a, b) -> bool:
    """``a`` is a [P, 1] tile that the wider tile ``b`` (same P) can take as a tensor_scalar operand."""
    return _is_scalar_tile(a) and isinstance(b, Tile) and not _is_scalar_tile(b) and a.shape[0] == b.shape[0]


def binary(x, y, op: AluOp, *, dtype=None, mask=None, dst: Tile | None = None, operator: bool = False,
           **kwargs) -> Tile:
    """``op(x, y)``: tensor_tensor for two tiles, tensor_scalar for a scalar or [P, 1] operand.

    nl.* calls broadcast a 1-partition operand along the partitions; Python operators cannot [KI1].
    """
    api = f"nl.{op.name}"
    mask = check_mask(mask)
    xs, ys = not isinstance(x, Tile), not isinstance(y, Tile)
    if xs and ys:
        raise_error("err_invalid_argument", f"{api} needs at least one tile operand")
    if xs or ys or _per_partition(y, x) or _per_partition(x, y):
        reverse = xs or _per_partition(x, y)
        data, scalar = (y, x) if reverse else (x, y)
        data = _operand(data, api, "x")
        out_dtype = dtype or (data.dtype if not isinstance(scalar, Tile) else _dt.promote(data.dtype, scalar.dtype))
        if op.compare and dtype is None:
            out_dtype = bool_  # comparisons default to dtype=bool [LANG1]
        if scalar is not None and not isinstance(scalar, Tile) and not _dt.is_float(data.dtype) and dtype is None \
                and isinstance(scalar, float):
            out_dtype = float32
        out = dst if dst is not None else _new_tile(data.shape, out_dtype, SBUF)
        _ew.tensor_scalar(out, data, op, scalar, api, reverse0=reverse, mask=mask)
        return out
    x, y = _operand(x, api, "x"), _operand(y, api, "y")
    out_shape = x.shape if _free_size(x) >= _free_size(y) else y.shape
    if x.shape[0] != y.shape[0]:
        if operator or 1 not in (x.shape[0], y.shape[0]):
            raise_error("err_num_partition_mismatch",
                        f"{api}: operands have {x.shape[0]} and {y.shape[0]} partitions; Python operators cannot "
                        "broadcast along partitions: call nl.add / nl.multiply / ... or nl.broadcast_to instead")
        out_shape = (builtins.max(x.shape[0], y.shape[0]),) + tuple(out_shape[1:])
    out_dtype = dtype or (bool_ if op.compare else _dt.promote(x.dtype, y.dtype))
    out = dst if dst is not None else _new_tile(out_shape, out_dtype, SBUF)
    _ew.tensor_tensor(out, x, y, op, api, mask=mask)
    return out


def _make_binary(op: AluOp):
    def fn(x, y, *, dtype=None, mask=None, **kwargs):
        return binary(x, y, op, dtype=dtype, mask=mask)
    fn.__name__ = op.name
    return fn


def activation_call(func, x, *, dtype=None, mask=None, bias=None, scale=1.0, **kwargs) -> Tile:
    api = f"nl.{func.name}"
    mask = check_mask(mask)
    x = _operand(x, api, "x")
    out = _new_tile(x.shape, dtype or x.dtype, SBUF)
    _ew.activation(out, func, x, api, bias=bias, scale=scale, mask=mask)
    return out


def _make_activation(func):
    def fn(x, *, dtype=None, mask=None, **kwargs):
        return activation_call(func, x, dtype=dtype, mask=mask)
    fn.__name__ = func.name
    return fn


def negative(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    return binary(x, -1.0, ALU_OPS["multiply"], dtype=dtype or x.dtype, mask=mask)


def invert(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    if x.dtype == bool_:
        from autocomp.nki.errors import warn

        warn("nl.invert on a bool tile is known to give wrong results on hardware; use nl.logical_not",
             "warn_invert_bool")
    return binary(x, 0, ALU_OPS["invert"], dtype=dtype, mask=mask)


def logical_not(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    return binary(x, 0, ALU_OPS["logical_not"], dtype=dtype or uint8, mask=mask)


# ---------------------------------------------------------------- reductions


def _reduce(op_name: str, x, axis, dtype, mask, keepdims, negate=False, scale=None) -> Tile:
    api = f"nl.{op_name}"
    mask = check_mask(mask)
    x = _operand(x, api, "x")
    axes = _red.normalize_axes(axis, len(x.shape), api)
    shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keepdims else \
        tuple(s for i, s in enumerate(x.shape) if i not in axes)
    if len(shape) < 2:
        shape = (shape[0] if shape else 1, 1)
    out = _new_tile(shape, dtype or x.dtype, SBUF)
    red_op = {"sum": "add", "max": "maximum", "min": "minimum", "prod": "multiply", "mean": "add",
              "all": "logical_and", "any": "logical_or"}[op_name]
    _red.tensor_reduce(out, x, ALU_OPS[red_op], axes, api, negate=negate, mask=mask)
    if scale is not None and out.alloc.has_values:
        n = int(np.prod([x.shape[a] for a in axes]))
        out.alloc.set_values(_dt.cast_to(out.alloc.data.astype(np.float32) / np.float32(n), out.dtype))
    return out


def sum(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("sum", x, axis, dtype, mask, keepdims)


def max(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("max", x, axis, dtype, mask, keepdims)


def min(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("min", x, axis, dtype, mask, keepdims)


def prod(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:
    return _reduce("prod", x, axis, dtype, mask, keepdims)


def mean(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:
    return _reduce("mean", x, axis, dtype, mask, keepdims, scale=True)


def all(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("all", x, axis, dtype or uint8, mask, keepdims)


def any(x, axis, *, dtype=None, mask=None, keepdims=False, **kwargs) -> Tile:  # noqa: A001
    return _reduce("any", x, axis, dtype or uint8, mask, keepdims)


# ---------------------------------------------------------------- matmul and transpose


def matmul(x, y, *, transpose_x: bool = False, mask=None, **kwargs) -> Tile:
    """``x @ y`` into a new PSUM tile. Without transpose_x, x [M, K] is first transposed on the PE."""
    x, y = _operand(x, "nl.matmul", "x"), _operand(y, "nl.matmul", "y")
    if not transpose_x:
        if x.shape[0] > 128 or _free_size(x) > 128:
            raise_error("err_size_of_dimension_exceed_arch_limit",
                        f"nl.matmul: x of shape {list(x.shape)} exceeds [128, 128]")
        xt_psum = _new_tile((_free_size(x), x.shape[0]), x.dtype if x.dtype != float32 else float32, PSUM)
        _mm.nc_transpose(xt_psum, x, "nl.matmul", engine=PE)
        xt = _new_tile(xt_psum.shape, x.dtype, SBUF)
        _data.tensor_copy(xt, xt_psum, "nl.matmul", engine=ACT)
        x = xt
    out = _new_tile((_free_size(x), _free_size(y)), float32, PSUM)
    _mm.nc_matmul(out, x, y, "nl.matmul")
    return out


def transpose(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    x = _operand(x, "nl.transpose", "x")
    if len(x.shape) != 2:
        raise_error("err_exceed_max_supported_dimension",
                    f"nl.transpose takes a 2-D tile, got {len(x.shape)}-D {list(x.shape)}")
    out = _new_tile((x.shape[1], x.shape[0]), dtype or x.dtype, PSUM if x.buffer == SBUF else SBUF)
    _mm.nc_transpose(out, x, "nl.transpose")
    return out


# ---------------------------------------------------------------- bindings

for _name, _op in ALU_OPS.items():
    if _name not in ("max", "min", "invert", "logical_not", "bypass", "rsqrt_alu"):
        globals()[_name] = _make_binary(_op)
        _alu.bind(_name, globals()[_name])
for _name, _f in ACT_FUNCS.items():
    if _name not in ("copy", "negative", "abs_max") and _name not in globals():
        globals()[_name] = _make_activation(_f)
        _alu.bind(_name, globals()[_name])
abs = _make_activation(ACT_FUNCS["abs"])  # noqa: A001
_alu.bind("abs", abs)
_alu.bind("negative", negative)
_alu.bind("invert", invert)
_alu.bind("logical_not", logical_not)


def _bind_operators() -> None:
    for name in ("add", "subtract", "multiply", "divide", "power", "bitwise_and", "bitwise_or", "bitwise_xor",
                 "left_shift", "right_shift", "mod", "less", "less_equal", "greater", "greater_equal", "equal",
                 "not_equal"):
        op = ALU_OPS[name]
        bind_operator(name, lambda a, b, _op=op: binary(a, b, _op, operator=True))
    bind_operator("negative", negative)
    bind_operator("assign", assign)
    bind_operator("inplace", inplace)


_bind_operators()
Mask  # noqa: B018 - re-exported

from autocomp.nki.legacy.language_extra import *  # noqa: E402,F401,F403
