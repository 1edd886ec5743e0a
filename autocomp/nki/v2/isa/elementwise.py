"""Vector, Scalar and GpSimd element-wise instructions: tensor_tensor, tensor_scalar, scalar_tensor_tensor,
tensor_reduce, tensor_copy, memset and reciprocal."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import act as _act
from autocomp.nki.alu import alu as _alu
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops.common import free_size as _free
from autocomp.nki.tile import Tile
from autocomp.nki.trace import DVE
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import dst_tile as _dst
from autocomp.nki.v2.calls import engine_arg as _engine
from autocomp.nki.v2.calls import isa_call
from autocomp.nki.v2.calls import src_tile as _src
from autocomp.nki.v2.enums import engine

_isa = isa_call("nisa")


@_isa
def tensor_tensor(dst, data1, data2, op, engine=engine.unknown, name=None):
    api = "nisa.tensor_tensor"
    dst = _dst(dst, api)
    a, b = _src(data1, api, "data1"), _src(data2, api, "data2")
    _ew.tensor_tensor(dst, a, b, _alu(op), api, engine=_engine(engine, api))
    _acc.mark_written(dst)


@_isa
def tensor_scalar(dst, data, op0, operand0, reverse0=False, op1=None, operand1=None, reverse1=False,
                  engine=engine.unknown, name=None):
    """``(data op0 operand0) op1 operand1`` with scalar or [P, 1] operands."""
    api = "nisa.tensor_scalar"
    dst, data = _dst(dst, api), _src(data, api, "data")
    _ew.tensor_scalar(dst, data, _alu(op0), operand0, api, reverse0=bool(reverse0),
                      op1=_alu(op1) if op1 is not None else None, operand1=operand1, reverse1=bool(reverse1),
                      engine=_engine(engine, api))
    _acc.mark_written(dst)


@_isa
def scalar_tensor_tensor(dst, data, op0, operand0, op1, operand1, reverse0=False, reverse1=False, name=None):
    """``(data op0 operand0) op1 operand1`` where operand1 is a tile."""
    api = "nisa.scalar_tensor_tensor"
    dst, data = _dst(dst, api), _src(data, api, "data")
    _ew.scalar_tensor_tensor(dst, data, _alu(op0), operand0, _alu(op1), _src(operand1, api, "operand1"), api,
                             reverse0=bool(reverse0), reverse1=bool(reverse1))
    _acc.mark_written(dst)


@_isa
def tensor_reduce(dst, op, data, axis, negate=False, keepdims=False, name=None):
    """Reduce the trailing free axes (they must end at the last dimension, nki >= 0.3)."""
    api = "nisa.tensor_reduce"
    dst, data = _dst(dst, api), _src(data, api, "data")
    axes = _red.normalize_axes(axis, len(data.shape), api, trailing=True)
    kept = 1
    for d in range(1, len(data.shape)):
        if d not in axes:
            kept *= data.shape[d]
    if _free(dst) != kept or dst.shape[0] != data.shape[0]:
        raise_error("err_invalid_argument",
                    f"{api}: reducing axes {list(axes)} of {list(data.shape)} leaves [{data.shape[0]}, {kept}] "
                    f"elements, but dst is {list(dst.shape)}")
    _red.tensor_reduce(dst, data, _alu(op), axes, api, negate=bool(negate), keepdims=bool(keepdims), trailing=True)
    _acc.mark_written(dst)


@_isa
def tensor_copy(dst, src, engine=engine.unknown, name=None):
    """On-chip copy (with a cast when dtypes differ) on the Vector, Scalar or GpSimd engine."""
    api = "nisa.tensor_copy"
    dst, src = _dst(dst, api), _src(src, api, "src")
    _data.tensor_copy(dst, src, api, engine=_engine(engine, api))
    _acc.mark_written(dst)


@_isa
def memset(dst, value, engine=engine.unknown, name=None):
    """Fill dst with a constant whose type matches dst's dtype (nki >= 0.3)."""
    api = "nisa.memset"
    dst = _dst(dst, api)
    if isinstance(value, Tile) or not isinstance(value, (int, float, bool, np.number)):
        raise_error("err_invalid_argument", f"{api}: value must be a compile-time constant, got {type(value).__name__}")
    if _dt.is_packed(dst.dtype) and value != 0:
        raise_error("err_invalid_argument", f"{api}: x4 packed dtypes can only be memset to 0")
    if _dt.is_int(dst.dtype) and isinstance(value, (float, np.floating)):
        raise_error("err_unsupported_dtype",
                    f"{api}: value {value!r} is a float but dst is {_dt.dtype_name(dst.dtype)}; the value's type "
                    f"must match dst's dtype (nki >= 0.3): pass an integer, e.g. value={int(value)}")
    eng = _engine(engine, api)
    if eng not in (None, DVE, "pool"):
        raise_error("err_invalid_argument", f"{api}: memset runs on nisa.vector_engine or nisa.gpsimd_engine")
    _data.memset(dst, value, api, engine=eng)
    _acc.mark_written(dst)


@_isa
def reciprocal(dst, data, name=None):
    """``1 / data`` on the Vector engine."""
    api = "nisa.reciprocal"
    dst, data = _dst(dst, api), _src(data, api, "data")
    _ew.activation(dst, _act("reciprocal"), data, api, engine=DVE, opcode="RECIPROCAL")
    _acc.mark_written(dst)
