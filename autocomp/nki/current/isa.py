"""``nki.isa`` (current dialect): every instruction writes the ``dst`` given first and returns None.

Each wrapper checks the current dialect's rules (enum members, known keywords,
a destination) and calls the dialect-free core op, so the trace holds the same
instructions as the legacy dialect. The less common instructions live in
``isa_extra.py`` and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import act as _act
from autocomp.nki.alu import alu as _alu
from autocomp.nki.current import accumulate as _acc
from autocomp.nki.current.calls import dst_tile as _dst
from autocomp.nki.current.calls import engine_arg as _engine
from autocomp.nki.current.calls import isa_call
from autocomp.nki.current.calls import src_tile as _src
from autocomp.nki.current.control import (  # noqa: F401 - nki.isa names
    VirtualRegister,
    register_alloc,
    register_load,
    register_move,
    register_store,
)
from autocomp.nki.current.enums import (  # noqa: F401 - nki.isa names
    dge_mode,
    dma_engine,
    engine,
    gpsimd_engine,
    matmul_perf_mode,
    member,
    nc_version,
    oob_mode,
    reduce_cmd,
    scalar_engine,
    sync_engine,
    tensor_engine,
    unknown_engine,
    vector_engine,
)
from autocomp.nki.current.isa_extra import *  # noqa: F403 - re-exported instructions
from autocomp.nki.current.isa_extra import oob_view_mask as _oob_mask
from autocomp.nki.errors import NkiError, raise_error, warn
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops import reduce as _red
from autocomp.nki.ops.common import compute_values as _values
from autocomp.nki.ops.common import free_size as _free
from autocomp.nki.ops.common import numerics as _numerics
from autocomp.nki.ops.operands import ctx_state as _ctx_state
from autocomp.nki.ops.operands import per_partition as _per_partition
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, DVE, PE, SBUF, SP

NkiValidationError = NkiError
_isa = isa_call("nisa")


def get_nc_version() -> nc_version:
    return {"trn1": nc_version.gen2, "trn2": nc_version.gen3, "trn3": nc_version.gen4}[_current().target]


def get_nc_sub_version() -> int:
    return 0


# ---------------------------------------------------------------- Tensor engine


@_isa
def nc_matmul(dst, stationary, moving, is_stationary_onezero=False, is_moving_onezero=False, is_transpose=False,
              accumulate=None, tile_position=(), tile_size=(), perf_mode=matmul_perf_mode.none, name=None):
    """``dst[M, N] (+)= stationary[K, M].T @ moving[K, N]`` in PSUM; ``accumulate=None`` decides per element."""
    api = "nisa.nc_matmul"
    dst = _dst(dst, api)
    st, mv = _src(stationary, api, "stationary"), _src(moving, api, "moving")
    mode = member(perf_mode, matmul_perf_mode, api, "perf_mode")
    if accumulate not in (None, True, False):
        raise_error("err_invalid_argument", f"{api}: accumulate must be None, True or False, got {accumulate!r}")
    flags = {"is_stationary_onezero": bool(is_stationary_onezero), "is_moving_onezero": bool(is_moving_onezero),
             "is_transpose": bool(is_transpose)}
    if mode is matmul_perf_mode.double_row:
        ins = _double_row(dst, st, mv, accumulate, api, flags)
    else:
        ins = _acc.matmul(dst, st, mv, accumulate, api, **flags)
    if tile_position or tile_size:
        _tiling(st, tuple(tile_position), tuple(tile_size), api)
        ins.attrs["tile_position"], ins.attrs["tile_size"] = tuple(tile_position), tuple(tile_size)


def _tiling(st: Tile, position: tuple, size: tuple, api: str) -> None:
    if len(position) != 2 or len(size) != 2:
        raise_error("err_invalid_argument", f"{api}: tile_position and tile_size must both be (row, column) pairs")
    rows, cols = (int(s) for s in size)
    if rows not in (32, 64, 128) or cols not in (32, 64, 128) or (_current().target == "trn1" and 32 in (rows, cols)):
        raise_error("err_invalid_argument", f"{api}: tile_size {size} must use 128, 64 (or 32 from trn2) rows/cols")
    if int(position[0]) % rows or int(position[1]) % cols or st.shape[0] > rows or _free(st) > cols:
        raise_error("err_invalid_argument",
                    f"{api}: stationary {list(st.shape)} must fit tile_size {size}, and tile_position {position} "
                    "must be a multiple of it")


def _double_row(dst: Tile, st: Tile, mv: Tile, accumulate, api: str, flags: dict):
    """FP8 double-row mode: stationary [K, 2, M] and moving [K, 2, N] contract over 2K rows in one matmul."""
    if _current().target == "trn1":
        raise_error("err_unsupported_operation", f"{api}: perf_mode=double_row needs trn2 or later")
    if len(st.shape) != 3 or len(mv.shape) != 3 or st.shape[1] != 2 or mv.shape[1] != 2:
        raise_error("err_invalid_argument",
                    f"{api}: double_row takes stationary [K, 2, M] and moving [K, 2, N], got {list(st.shape)} and "
                    f"{list(mv.shape)}")
    if not (st.dtype in _dt.FP8 and mv.dtype in _dt.FP8):
        raise_error("err_unsupported_dtype", f"{api}: double_row needs fp8 stationary and moving tiles")
    from autocomp.nki.current.views import as_tensor

    st3, mv3 = as_tensor(st), as_tensor(mv)
    ins = _acc.matmul(dst, st3[:, 0, :], mv3[:, 0, :], accumulate, api, perf_mode="double_row", **flags)
    if _numerics():
        extra = _values(st3[:, 1, :]).T @ _values(mv3[:, 1, :])
        dst.write(dst.read().astype(np.float32) + extra.reshape(dst.shape))
    ins.attrs["contract"] = 2 * st.shape[0]
    ins.src = (st.access(), mv.access())
    return ins


@_isa
def nc_transpose(dst, data, engine=engine.unknown, name=None):
    """Swap the partition and (flattened) free dimensions: Tensor engine up to 128x128, Vector up to 32x32."""
    api = "nisa.nc_transpose"
    dst, data = _dst(dst, api), _src(data, api, "data")
    eng = _engine(engine, api)
    if eng not in (None, PE, DVE):
        raise_error("err_invalid_argument", f"{api}: engine must be nisa.tensor_engine or nisa.vector_engine")
    if dst.dtype != data.dtype:
        raise_error("err_unsupported_dtype",
                    f"{api}: dst ({_dt.dtype_name(dst.dtype)}) must have the dtype of data "
                    f"({_dt.dtype_name(data.dtype)})")
    _mm.nc_transpose(dst, data, api, engine=eng)
    _acc.mark_written(dst)


# ---------------------------------------------------------------- DMA


def _dma_queue(dge, eng, api: str) -> str:
    if eng is engine.scalar:
        if dge is not dge_mode.hwdge:
            raise_error("err_invalid_argument", f"{api}: engine= only applies with dge_mode=nisa.dge_mode.hwdge")
        return ACT
    if eng not in (engine.sync, engine.unknown):
        raise_error("err_invalid_argument", f"{api}: the DMA engine is nisa.engine.sync or nisa.engine.scalar")
    return SP


@_isa
def dma_copy(dst, src, priority=None, oob_mode=oob_mode.error, dge_mode=dge_mode.unknown, engine=engine.unknown,
             name=None):
    """Copy between HBM and SBUF (casting through fp32); PSUM is not a DMA source (nki >= 0.3)."""
    api = "nisa.dma_copy"
    dst, src = _dst(dst, api), _src(src, api, "src")
    oob = member(oob_mode, _oob_enum, api, "oob_mode")
    dge = member(dge_mode, _dge_enum, api, "dge_mode")
    eng = member(engine, _engine_enum, api, "engine")
    if src.buffer == "psum":
        raise_error("err_unsupported_memory",
                    f"{api}: DMA cannot read PSUM (nki >= 0.3); copy it to SBUF with nisa.tensor_copy first")
    if dge is _dge_enum.hwdge:
        if _current().target == "trn1":
            raise_error("err_unsupported_operation", f"{api}: hardware DGE needs trn2 or later")
        if src.dtype != dst.dtype:
            raise_error("err_unsupported_dtype",
                        f"{api}: hwdge copies raw bytes, so src ({_dt.dtype_name(src.dtype)}) and dst "
                        f"({_dt.dtype_name(dst.dtype)}) must share a dtype; reinterpret with .view(dtype), or use "
                        "dge_mode=nisa.dge_mode.swdge to cast")
    queue = _dma_queue(dge, eng, api)
    mask = _oob_mask(dst, src, oob, api)
    dge_name = dge.value if dge in (_dge_enum.swdge, _dge_enum.hwdge) else "none"  # unknown: the compiler picks
    _data.dma_copy(dst, src, api, mask=mask, queue=queue, dge=dge_name, indirect=getattr(src, "addr", None) is not None)


_oob_enum, _dge_enum, _engine_enum = oob_mode, dge_mode, engine


@_isa
def dma_transpose(dst, src, axes=None, priority=None, dge_mode=dge_mode.unknown, oob_mode=oob_mode.error, name=None):
    """Transpose while copying (trn2+): 2-D axes (1, 0), 3-D (2, 1, 0), 4-D (3, 1, 2, 0)."""
    api = "nisa.dma_transpose"
    dst, src = _dst(dst, api), _src(src, api, "src")
    dge = member(dge_mode, _dge_enum, api, "dge_mode")
    member(oob_mode, _oob_enum, api, "oob_mode")
    if len(dst.shape) != len(src.shape):
        raise_error("err_rank_mismatch",
                    f"{api}: dst is {len(dst.shape)}-D {list(dst.shape)} but src is {len(src.shape)}-D "
                    f"{list(src.shape)}; the destination must have the source's rank (nki >= 0.4). Reshape dst "
                    "with .reshape(...) to the transposed shape")
    if dst.buffer != SBUF:
        raise_error("err_unsupported_memory", f"{api}: the destination must be in SBUF, got {dst.buffer.upper()}")
    if src.dtype != dst.dtype:
        raise_error("err_unsupported_dtype", f"{api}: src and dst must share a dtype")
    if dge is _dge_enum.hwdge and (src.shape[0] != 16 or src.shape[-1] % 128 or src.dtype.itemsize != 2):
        raise_error("err_invalid_argument",
                    f"{api}: a hardware-DGE transpose needs src.shape[0] == 16, src.shape[-1] a multiple of 128 and "
                    f"a 2-byte dtype; got {list(src.shape)} {_dt.dtype_name(src.dtype)}")
    _move.dma_transpose(dst, src, None if axes is None else tuple(axes), api)


# ---------------------------------------------------------------- Vector / Scalar / GpSimd engines


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


# ---------------------------------------------------------------- Scalar engine with its reduce registers


def _act_regs(dst: Tile) -> np.ndarray:
    """The Scalar engine's 128 reduce registers (NaN while undefined), for dst's partitions."""
    regs = _ctx_state("act_accumulators", lambda: np.full(128, np.nan, dtype=np.float32))
    start = dst.access().partition_start
    return regs[start:start + dst.shape[0]]


@_isa
def activation(dst, op, data, bias=None, scale=1.0, reduce_op=None, reduce_res=None, reduce_cmd=reduce_cmd.idle,
               name=None):
    """``dst = op(data * scale + bias)``; ``reduce_cmd`` drives the reduce registers, read out into reduce_res."""
    api = "nisa.activation"
    dst, data = _dst(dst, api), _src(data, api, "data")
    cmd = member(reduce_cmd, _reduce_cmd_enum, api, "reduce_cmd")
    rop = _alu(reduce_op) if reduce_op is not None else None
    if rop is not None and rop.name != "add":
        raise_error("err_unsupported_operation", f"{api}: the Scalar engine reduces only with nl.add")
    if reduce_res is not None:
        _per_partition(_src(reduce_res, api, "reduce_res"), data.shape[0], api, "reduce_res")
    reduces = cmd in (_reduce_cmd_enum.reduce, _reduce_cmd_enum.reset_reduce)
    if cmd is _reduce_cmd_enum.load_reduce:
        raise_error("err_invalid_argument", f"{api}: reduce_cmd=load_reduce is a Vector-engine command")
    if cmd is _reduce_cmd_enum.idle and rop is not None and reduce_res is not None:
        warn(f"{api}: reduce_op with reduce_cmd=idle does not reduce; reduce_res reads the registers unchanged. "
             "Pass reduce_cmd=nisa.reduce_cmd.reset_reduce to sum this instruction's output", "warn_idle_reduce")
    direct = reduce_res is not None and cmd is _reduce_cmd_enum.reset_reduce
    ins = _ew.activation(dst, _act(op), data, api, bias=bias, scale=scale,
                         reduce_res=reduce_res if direct else None, reduce_op=rop if direct else None)
    regs = _act_regs(dst)
    if _numerics():
        if direct:
            regs[...] = _values(reduce_res).reshape(-1)
        else:
            if cmd in (_reduce_cmd_enum.reset, _reduce_cmd_enum.reset_reduce):
                regs[...] = 0.0
            if reduces:
                regs[...] += _values(dst).reshape(dst.shape[0], -1).sum(axis=1, dtype=np.float32)
            if reduce_res is not None:
                reduce_res.write(regs.reshape(reduce_res.shape))
    elif reduce_res is not None:
        reduce_res.alloc.mark_written()
    if reduce_res is not None and not direct:
        ins.dst = ins.dst + (reduce_res.access(),)
        ins.attrs["reduce"] = True
    _acc.mark_written(dst, reduce_res)


_reduce_cmd_enum = reduce_cmd


@_isa
def activation_reduce(dst, op, data, reduce_op, reduce_res, bias=None, scale=1.0, name=None):
    """``activation`` plus the sum of its output per partition into reduce_res (reset_reduce)."""
    api = "nisa.activation_reduce"
    dst, data = _dst(dst, api), _src(data, api, "data")
    reduce_res = _src(reduce_res, api, "reduce_res")
    _ew.activation(dst, _act(op), data, api, bias=bias, scale=scale, reduce_res=reduce_res,
                   reduce_op=_alu(reduce_op), opcode="ACTIVATE_REDUCE")
    if _numerics():
        _act_regs(dst)[...] = _values(reduce_res).reshape(-1)
    _acc.mark_written(dst, reduce_res)

