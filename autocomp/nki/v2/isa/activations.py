"""The Scalar engine's activations and its reduce registers (``nisa.activation``, ``nisa.activation_reduce``,
``nisa.activate2``), and the Vector engine's ``nisa.exponential``."""

from __future__ import annotations

import numpy as np

from autocomp.nki.alu import act as _act
from autocomp.nki.alu import alu as _alu
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops.common import compute_values as _values
from autocomp.nki.ops.common import numerics as _numerics
from autocomp.nki.ops.operands import ctx_state as _ctx_state
from autocomp.nki.ops.operands import per_partition as _per_partition
from autocomp.nki.tile import Tile
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import dst_tile as _dst
from autocomp.nki.v2.calls import isa_call
from autocomp.nki.v2.calls import src_tile as _src
from autocomp.nki.v2.enums import member, reduce_cmd

_isa = isa_call("nisa")


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


def _identity(rop) -> float:
    return _ew.ACTIVATE2_REDUCE_OPS.get(rop.name, 0.0) if rop is not None else 0.0


@_isa
def activate2(dst, op, data, imm0, imm1, op0, op1, relu_param=0.0, reverse0=False, reverse1=False, reduce_op=None,
              reduce_res=None, reduce_cmd=reduce_cmd.idle, name=None):
    """``dst = op((data op0 imm0) op1 imm1)`` on the Scalar engine (NeuronCore-v4+), with ``relu_param`` the
    slope of nl.prelu; ``reduce_cmd`` folds each row into the Scalar accumulators with ``reduce_op``, and
    ``reduce_res`` reads them out."""
    api = "nisa.activate2"
    dst, data = _dst(dst, api), _src(data, api, "data")
    cmd = member(reduce_cmd, _reduce_cmd_enum, api, "reduce_cmd")
    if cmd is _reduce_cmd_enum.load_reduce:
        raise_error("err_invalid_argument", f"{api}: reduce_cmd=load_reduce is a Vector-engine command")
    rop = _alu(reduce_op) if reduce_op is not None else None
    reduces = cmd in (_reduce_cmd_enum.reduce, _reduce_cmd_enum.reset_reduce)
    if reduces and rop is None:
        raise_error("err_invalid_argument", f"{api}: reduce_cmd={cmd.name} needs a reduce_op (nl.add, nl.maximum, "
                                            "nl.minimum, nl.abs_max or nl.abs_min)")
    if reduce_res is not None:
        reduce_res = _src(reduce_res, api, "reduce_res")
    regs = _act_regs(dst)
    if _numerics() and cmd in (_reduce_cmd_enum.reset, _reduce_cmd_enum.reset_reduce):
        regs[...] = _identity(rop)
    _ew.activate2(dst, _act(op), data, imm0, imm1, _alu(op0), _alu(op1), api, relu_param=relu_param,
                  reverse0=bool(reverse0), reverse1=bool(reverse1), reduce_op=rop if reduces else None,
                  registers=regs, reduce_res=reduce_res)
    _acc.mark_written(dst, reduce_res)


@_isa
def exponential(dst, src, max_value=0.0, reduce_res=None, reduce_cmd=reduce_cmd.idle, reduce_init=0.0, name=None):
    """``dst = exp(src - max_value)`` on the Vector engine (NeuronCore-v4+); reduce_cmd adds each row's sum to
    the Vector accumulators (reset_reduce from 0, load_reduce from reduce_init), read out into reduce_res."""
    api = "nisa.exponential"
    dst, src = _dst(dst, api), _src(src, api, "src")
    cmd = member(reduce_cmd, _reduce_cmd_enum, api, "reduce_cmd")
    if cmd is _reduce_cmd_enum.reset:
        raise_error("err_invalid_argument", f"{api}: reduce_cmd must be idle, reset_reduce, reduce or load_reduce")
    if cmd is not _reduce_cmd_enum.load_reduce and (isinstance(reduce_init, Tile) or reduce_init not in (None, 0, 0.0)):
        raise_error("err_invalid_argument", f"{api}: reduce_init is only used with reduce_cmd=load_reduce; leave it "
                                            "unset (0.0) otherwise")
    if reduce_res is not None:
        reduce_res = _src(reduce_res, api, "reduce_res")
    regs = _dve_registers(dst)
    if _numerics():
        if cmd is _reduce_cmd_enum.reset_reduce:
            regs[...] = 0.0
        elif cmd is _reduce_cmd_enum.load_reduce:
            init = _values(reduce_init).reshape(-1) if isinstance(reduce_init, Tile) else np.float32(reduce_init or 0)
            regs[...] = init
    _ew.exponential(dst, src, max_value, api, registers=None if cmd is _reduce_cmd_enum.idle else regs,
                    reduce_res=reduce_res)
    if _numerics() and cmd is _reduce_cmd_enum.idle:
        regs[...] = np.nan  # documented: an idle instruction may still change the accumulators
    _acc.mark_written(dst, reduce_res)


def _dve_registers(dst: Tile) -> np.ndarray:
    """The Vector engine's 128 accumulators (shared with select_reduce, tensor_scalar_reduce, ...)."""
    regs = _ctx_state("dve_accumulators", lambda: np.full(128, np.nan, dtype=np.float32))
    start = dst.access().partition_start
    return regs[start:start + dst.shape[0]]
