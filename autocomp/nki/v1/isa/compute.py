"""The v1 ISA's compute instructions, each into a fresh tile: Tensor-engine matmul and transpose,
Scalar-engine activations, Vector/GpSimd element-wise ops, reductions, copies and memsets."""

from __future__ import annotations

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import act, alu
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops.common import engine_of as _engine_of
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.operands import alu_op as _alu_op
from autocomp.nki.runtime import current as _current
from autocomp.nki.storage import Allocation
from autocomp.nki.tile import Tile
from autocomp.nki.trace import DVE, PE, PSUM, SBUF
from autocomp.nki.v1.isa.common import sbuf_matmul_operands
from autocomp.nki.v1.isa.enums import engine, reduce_cmd


def _out(shape, dtype, buffer=SBUF) -> Tile:
    return _new_tile(shape, dtype, buffer)


# ---------------------------------------------------------------- Tensor engine


def nc_matmul(stationary, moving, *, is_stationary_onezero: bool = False, is_moving_onezero: bool = False,
              is_transpose: bool = False, tile_position=(), tile_size=(), mask=None, perf_mode=None,
              **kwargs) -> Tile:
    """``stationary[K, M].T @ moving[K, N]`` into a new fp32 PSUM tile [M, N]."""
    api = "nisa.nc_matmul"
    stationary, moving = _operand(stationary, api, "stationary"), _operand(moving, api, "moving")
    if stationary.alloc.buffer == PSUM or moving.alloc.buffer == PSUM:
        stationary, moving = sbuf_matmul_operands(api, (("stationary", stationary), ("moving", moving)))
    mode = getattr(perf_mode, "value", perf_mode)
    if isinstance(mode, str) and mode.startswith("double_row"):
        # Deployed legacy kernels pass perf_mode='double_row_gen3' with [K, 2, M] / [K, 2, N] fp8 tiles (trn2).
        shape = (stationary.shape[-1], moving.shape[-1])
        out = Tile(Allocation(_current(), None, PSUM, shape, _dt.float32, 0), None, shape=shape)
        _mm.double_row_matmul(out, stationary, moving, api, is_stationary_onezero=is_stationary_onezero,
                              is_moving_onezero=is_moving_onezero, is_transpose=is_transpose)
        return out
    shape = (_free_size(stationary), _free_size(moving))  # ints: a fresh fp32 PSUM tile without new_tile's checks
    ctx = _current()
    out = Tile(Allocation(ctx, None, PSUM, shape, _dt.float32, 0), None, shape=shape)
    _mm.nc_matmul(out, stationary, moving, api, is_stationary_onezero=is_stationary_onezero,
                  is_moving_onezero=is_moving_onezero, is_transpose=is_transpose, perf_mode=perf_mode)
    return out


def nc_transpose(data, *, mask=None, dtype=None, engine=engine.unknown, **kwargs) -> Tile:
    api = "nisa.nc_transpose"
    data = _operand(data, api, "data")
    eng = _engine_of(engine, None)
    if eng is None:
        eng = DVE if (data.shape[0] <= 32 and _free_size(data) <= 32) else PE
    out = _out((_free_size(data), data.shape[0]), dtype or data.dtype, PSUM if eng == PE else SBUF)
    _mm.nc_transpose(out, data, api, engine=eng)
    return out


# ---------------------------------------------------------------- Vector / Scalar / GpSimd


def activation(op, data, *, bias=None, scale=1.0, mask=None, dtype=None, reduce_op=None, reduce_res=None,
               reduce_cmd=reduce_cmd.idle, **kwargs) -> Tile:
    api = "nisa.activation"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _ew.activation(out, act(op), data, api, bias=bias, scale=scale, mask=mask, reduce_res=reduce_res,
                   reduce_op=_alu_op(reduce_op, api, "reduce_op") if reduce_op is not None else None)
    return out


def activation_reduce(op, data, *, reduce_op, reduce_res, bias=None, scale=1.0, mask=None, dtype=None,
                      **kwargs) -> Tile:
    api = "nisa.activation_reduce"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _ew.activation(out, act(op), data, api, bias=bias, scale=scale, mask=mask, reduce_res=reduce_res,
                   reduce_op=_alu_op(reduce_op, api, "reduce_op"), opcode="ACTIVATE_REDUCE")
    return out


def tensor_tensor(data1, data2, op, *, dtype=None, mask=None, engine=engine.unknown, **kwargs) -> Tile:
    api = "nisa.tensor_tensor"
    mask = check_mask(mask)
    a, b = _operand(data1, api, "data1"), _operand(data2, api, "data2")
    out = _out(a.shape if _free_size(a) >= _free_size(b) else b.shape, dtype or _dt.promote(a.dtype, b.dtype))
    _ew.tensor_tensor(out, a, b, alu(op), api, engine=_engine_of(engine, None), mask=mask)
    return out


def tensor_scalar(data, op0, operand0, reverse0: bool = False, op1=None, operand1=None, reverse1: bool = False, *,
                  dtype=None, mask=None, engine=engine.unknown, **kwargs) -> Tile:
    api = "nisa.tensor_scalar"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _ew.tensor_scalar(out, data, alu(op0), operand0, api, reverse0=reverse0,
                      op1=alu(op1) if op1 is not None else None, operand1=operand1, reverse1=reverse1,
                      engine=_engine_of(engine, None), mask=mask)
    return out


def scalar_tensor_tensor(*, data, op0, operand0, op1, operand1, reverse0: bool = False, reverse1: bool = False,
                         dtype=None, mask=None, **kwargs) -> Tile:
    api = "nisa.scalar_tensor_tensor"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    operand1 = _operand(operand1, api, "operand1")
    out = _out(data.shape, dtype or _dt.promote(data.dtype, operand1.dtype))
    _ew.scalar_tensor_tensor(out, data, alu(op0), operand0, alu(op1), operand1, api, reverse0=reverse0,
                             reverse1=reverse1, mask=mask)
    return out


def tensor_reduce(op, data, axis, *, mask=None, dtype=None, negate: bool = False, keepdims: bool = False,
                  **kwargs) -> Tile:
    api = "nisa.tensor_reduce"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    axes = _red.normalize_axes(axis, len(data.shape), api)
    shape = tuple(1 if i in axes else s for i, s in enumerate(data.shape)) if keepdims else \
        tuple(s for i, s in enumerate(data.shape) if i not in axes)
    if len(shape) < 2:
        shape = (shape[0], 1)
    out = _out(shape, dtype or data.dtype)
    _red.tensor_reduce(out, data, _alu_op(op, api), axes, api, negate=negate, mask=mask)
    return out


def tensor_copy(src, *, mask=None, dtype=None, engine=engine.unknown, **kwargs) -> Tile:
    api = "nisa.tensor_copy"
    mask = check_mask(mask)
    src = _operand(src, api, "src")
    out = _out(src.shape, dtype or src.dtype)
    _data.tensor_copy(out, src, api, engine=_engine_of(engine, None), mask=mask)
    return out


def memset(shape, value, dtype, *, mask=None, engine=engine.unknown, **kwargs) -> Tile:
    api = "nisa.memset"
    mask = check_mask(mask)
    out = _out(tuple(shape), dtype)
    _data.memset(out, value, api, engine=_engine_of(engine, None), mask=mask)
    return out


def reciprocal(data, *, dtype=None, mask=None, **kwargs) -> Tile:
    """1/x on the Vector engine (8N cycles; nl.reciprocal on the Scalar engine is faster, less precise)."""
    api = "nisa.reciprocal"
    mask = check_mask(mask)
    data = _operand(data, api, "data")
    out = _out(data.shape, dtype or data.dtype)
    _ew.activation(out, act("reciprocal"), data, api, mask=mask, engine=DVE, opcode="RECIPROCAL")
    return out
