"""Element-wise compute: tensor_tensor, tensor_scalar, scalar_tensor_tensor, activation, and NeuronCore-v4's
exponential (Vector engine) and activate2 (Scalar engine)."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import ALU_OPS, ActFunc, AluOp
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import (
    ACT,
    DVE,
    POOL,
    PSUM,
    accesses,
    broadcast_to_dst,
    compute_values,
    free_size,
    numerics,
    on_chip,
    record,
    require_nc,
    tile_checks,
)
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile

ALU_ADD = ALU_OPS["add"]


def _check_inputs(api: str, dst: Tile, *srcs) -> None:
    on_chip(dst, api, "dst")
    tile_checks(dst, api, "dst")
    for i, s in enumerate(srcs):
        if isinstance(s, Tile):
            on_chip(s, api, f"input {i}")
            tile_checks(s, api, f"input {i}")
            # nl.* calls broadcast a 1-partition operand [LANG1 nl.add]; ISA calls need equal partitions [ERR1].
            if s.shape[0] != dst.shape[0] and not (s.shape[0] == 1 and api.startswith("nl.")):
                raise_error("err_num_partition_mismatch",
                            f"{api}: input {i} has {s.shape[0]} partitions but the output has {dst.shape[0]}; "
                            "partition broadcast needs nl.broadcast_to (a Tensor-engine op), not an implicit one")


def _write(dst: Tile, values: np.ndarray, mask: Mask | None, api: str) -> None:
    if values.shape != dst.shape:
        if values.size == dst.shape[0] * free_size(dst) and values.shape[:1] == dst.shape[:1]:
            values = values.reshape(dst.shape)
        else:
            values = broadcast_to_dst(values, dst.shape, api)
    dst.write(values, mask)


def _free_broadcast(v: np.ndarray, dst: Tile) -> np.ndarray:
    """Align an operand to the destination: same rank, free dims broadcast."""
    if v.ndim != len(dst.shape):
        if v.size == dst.shape[0] * free_size(dst):
            return v.reshape(dst.shape)
        if v.ndim == 2 and v.shape[1] == 1:
            return v.reshape((v.shape[0],) + (1,) * (len(dst.shape) - 1))
    return v


def _op_check(api: str, op: AluOp | None) -> None:
    if op is not None and op.name == "abs_min":
        require_nc(4, f"{api} with nl.abs_min")  # the ALU has abs_min from NeuronCore-v4 on


def _bitvec_check(api: str, op: AluOp, *tiles) -> None:
    if op.bitvec and any(isinstance(t, Tile) and not dt.is_int(t.dtype) for t in tiles):
        raise_error("err_unsupported_dtype",
                    f"{api}: bitwise operator nl.{op.name} needs integer tiles; got "
                    + ", ".join(dt.dtype_name(t.dtype) for t in tiles if isinstance(t, Tile)))


def tensor_tensor(dst: Tile, a: Tile, b: Tile, op: AluOp, api: str, engine: str | None = None,
                  mask: Mask | None = None):
    _check_inputs(api, dst, a, b)
    if a.buffer == PSUM and b.buffer == PSUM:
        raise_error("err_unsupported_memory",
                    f"{api}: both inputs are in PSUM; at most one tensor_tensor input may be in PSUM. Copy one to SBUF")
    _bitvec_check(api, op, a, b)
    _op_check(api, op)
    if engine is None:
        ints = dt.is_int(a.dtype) and dt.is_int(b.dtype) and a.dtype.itemsize == 4
        engine = POOL if (op.name == "power" or ints) else DVE
    if engine == POOL and PSUM in (a.buffer, b.buffer, dst.buffer):
        raise_error("err_unsupported_memory", f"{api}: the GpSimd engine cannot access PSUM")
    if op.name in ("mod", "fmod"):
        warn(f"{api}: nl.{op.name} has no hardware instruction; it runs in simulation but will fail to compile",
             "warn_simulation_only_op")
    if numerics():
        va, vb = compute_values(a, mask), compute_values(b, mask)
        with np.errstate(all="ignore"):
            r = op.np(_free_broadcast(va, dst), _free_broadcast(vb, dst))
        _write(dst, np.asarray(r), mask, api)
    else:
        dst.alloc.mark_written()
    return record("TENSOR_TENSOR", engine, api, accesses(dst, mask=mask), accesses(a, b, mask=mask), dst.shape[0],
                  free_size(dst), {"op": op.name}, producer_of=dst, mask=mask)


def _scalar_operand(x, dst: Tile, api: str, mask):
    if isinstance(x, Tile):
        on_chip(x, api, "operand")
        if free_size(x) != 1:
            raise_error("err_invalid_argument",
                        f"{api}: a tile operand must be a per-partition scalar of shape [P, 1], got {list(x.shape)}")
        if x.shape[0] != dst.shape[0]:
            raise_error("err_num_partition_mismatch",
                        f"{api}: operand has {x.shape[0]} partitions but data has {dst.shape[0]}")
        if not numerics():
            return None
        v = compute_values(x)
        return v.reshape((v.shape[0],) + (1,) * (len(dst.shape) - 1))
    return np.float32(x) if not isinstance(x, (int, np.integer)) else x


def _apply(op: AluOp, v, operand, reverse: bool):
    with np.errstate(all="ignore"):
        if op.unary:
            return op.np(v)
        return op.np(operand, v) if reverse else op.np(v, operand)


def tensor_scalar(dst: Tile, data: Tile, op0: AluOp, operand0, api: str, reverse0: bool = False,
                  op1: AluOp | None = None, operand1=None, reverse1: bool = False, engine: str | None = None,
                  mask: Mask | None = None):
    """``(data op0 operand0) op1 operand1`` with scalar or per-partition operands."""
    _check_inputs(api, dst, data)
    _bitvec_check(api, op0, data)
    _op_check(api, op0)
    _op_check(api, op1)
    engine = engine or DVE
    if engine == POOL and PSUM in (data.buffer, dst.buffer):
        raise_error("err_unsupported_memory", f"{api}: the GpSimd engine cannot access PSUM")
    if engine == ACT and not current().spec.act_tensor_scalar_any_op:
        allowed = {("multiply", "add"), ("multiply", None), ("add", None)}
        if (op0.name, op1.name if op1 else None) not in allowed:
            raise_error("err_unsupported_operation",
                        f"{api}: on {current().target} the Scalar engine runs tensor_scalar only as multiply+add, "
                        "multiply or add")
    # The fp32-operand rule is the v2 dialect's [ISA2]; v1 tensor_scalar casts any dtype [ISA1].
    for x in (operand0, operand1) if current().dialect != "v1" else ():
        if isinstance(x, Tile) and x.dtype != dt.float32 and not op0.bitvec:
            raise_error("err_unsupported_dtype",
                        f"{api}: per-partition scalar operands must be float32 tiles, got {dt.dtype_name(x.dtype)}")
    if numerics():
        v = _free_broadcast(compute_values(data, mask), dst)
        v = _apply(op0, v, _scalar_operand(operand0, dst, api, mask), reverse0)
        if op1 is not None:
            v = _apply(op1, v, _scalar_operand(operand1, dst, api, mask), reverse1)
        _write(dst, np.asarray(v), mask, api)
    else:
        for x in (operand0, operand1):
            _scalar_operand(x, dst, api, mask)
        dst.alloc.mark_written()
    srcs = accesses(data, operand0, operand1, mask=None)
    ops = (op0.name,) if op1 is None else (op0.name, op1.name)
    return record("TENSOR_SCALAR", engine, api, accesses(dst, mask=mask), srcs, dst.shape[0], free_size(dst),
                  {"ops": ops}, producer_of=dst, mask=mask)


def scalar_tensor_tensor(dst: Tile, data: Tile, op0: AluOp, operand0, op1: AluOp, operand1: Tile, api: str,
                         reverse0: bool = False, reverse1: bool = False, mask: Mask | None = None):
    """``(data op0 operand0) op1 operand1`` where operand1 is a full tile (Vector engine)."""
    _check_inputs(api, dst, data, operand1)
    if data.buffer == PSUM and operand1.buffer == PSUM:
        raise_error("err_unsupported_memory", f"{api}: data and operand1 cannot both be in PSUM")
    _op_check(api, op0)
    _op_check(api, op1)
    if numerics():
        v = _free_broadcast(compute_values(data, mask), dst)
        v = _apply(op0, v, _scalar_operand(operand0, dst, api, mask), reverse0)
        v = _apply(op1, v, _free_broadcast(compute_values(operand1, mask), dst), reverse1)
        _write(dst, np.asarray(v), mask, api)
    else:
        dst.alloc.mark_written()
    return record("SCALAR_TENSOR_TENSOR", DVE, api, accesses(dst, mask=mask),
                  accesses(data, operand0, operand1), dst.shape[0], free_size(dst), {"ops": (op0.name, op1.name)},
                  producer_of=dst, mask=mask)


def _check_range(func: ActFunc, v: np.ndarray, api: str) -> None:
    if func.valid is None or v.size == 0:
        return
    lo, hi = func.valid
    a = np.abs(v) if func.name in ("log", "sqrt", "rsqrt") else v
    finite = a[np.isfinite(a)]
    if finite.size and (finite.min() < (lo if func.name not in ("log", "sqrt", "rsqrt") else 0) or finite.max() > hi):
        warn(f"{api}: nl.{func.name} input outside its valid hardware range [{lo:.3g}, {hi:.3g}]; the hardware "
             "returns unspecified values there", "warn_activation_input_range")


def activation(dst: Tile, func: ActFunc, data: Tile, api: str, bias=None, scale=1.0, mask: Mask | None = None,
               reduce_res: Tile | None = None, reduce_op: AluOp | None = None, engine: str = ACT,
               opcode: str = "ACTIVATE"):
    """``dst = func(data * scale + bias)`` on the Scalar engine, optionally add-reducing into ``reduce_res``."""
    ctx = current()
    _check_inputs(api, dst, data)
    if isinstance(bias, Tile):
        on_chip(bias, api, "bias")
        if free_size(bias) != 1 or bias.shape[0] != data.shape[0]:
            raise_error("err_activation_bias_invalid_type",
                        f"{api}: bias must be a [P, 1] tile with the data's {data.shape[0]} partitions, "
                        f"got {list(bias.shape)}")
        if bias.dtype not in (dt.float32, dt.bfloat16, dt.float16):
            raise_error("err_activation_bias_invalid_type",
                        f"{api}: bias must be float32, bfloat16 or float16, got {dt.dtype_name(bias.dtype)}")
    elif bias is not None and not isinstance(bias, (int, float, np.number)):
        raise_error("err_activation_bias_invalid_type", f"{api}: bias must be a [P, 1] tile, got {type(bias).__name__}")
    elif bias not in (None, 0, 0.0) and not ctx.spec.act_immediate_bias:
        raise_error("err_activation_bias_invalid_type",
                    f"{api}: on {ctx.target} (NeuronCore-{ctx.spec.core}) the activation bias must be a [P, 1] tile, "
                    "not the scalar "
                    f"{bias!r}; fill a [P, 1] float32 tile with nl.full / nisa.memset and pass it")
    if isinstance(scale, Tile):
        on_chip(scale, api, "scale")
        if scale.dtype != dt.float32:
            raise_error("err_activation_scale_invalid_type",
                        f"{api}: a tile scale must be float32, got {dt.dtype_name(scale.dtype)}")
        if free_size(scale) != 1 or scale.shape[0] != data.shape[0]:
            raise_error("err_activation_scale_scalar_or_vector",
                        f"{api}: a tile scale must be a [P, 1] column with the data's {data.shape[0]} partitions, "
                        f"got {list(scale.shape)}")
    elif not isinstance(scale, (int, float, np.number)):
        raise_error("err_activation_scale_invalid_type", f"{api}: scale must be a float or a [P, 1] float32 tile")
    if reduce_res is not None:
        on_chip(reduce_res, api, "reduce_res")
        if reduce_op is not None and reduce_op.name != "add":
            raise_error("err_unsupported_operation", f"{api}: the Scalar engine reduces only with nl.add")
    if numerics():
        v = _free_broadcast(compute_values(data, mask), dst)
        s = compute_values(scale).reshape((scale.shape[0],) + (1,) * (v.ndim - 1)) if isinstance(scale, Tile) \
            else np.float32(scale)
        b = 0.0
        if isinstance(bias, Tile):
            b = compute_values(bias).reshape((bias.shape[0],) + (1,) * (v.ndim - 1))
        elif bias is not None:
            b = np.float32(bias)
        with np.errstate(all="ignore"):
            x = v * s + b if (not isinstance(s, np.floating) or s != 1.0 or not isinstance(b, float) or b) else v
        _check_range(func, x, api)
        r = np.asarray(func.np(x.astype(np.float32, copy=False)), dtype=np.float32)
        _write(dst, r, mask, api)
        if reduce_res is not None:
            red = r.reshape(r.shape[0], -1)
            if mask is not None:
                red = np.where(np.broadcast_to(mask.values, r.shape).reshape(red.shape), red, 0)
            reduce_res.write(red.sum(axis=1, dtype=np.float32).reshape(reduce_res.shape))
    else:
        dst.alloc.mark_written()
        if reduce_res is not None:
            reduce_res.alloc.mark_written()
    dsts = accesses(dst, mask=mask) + (accesses(reduce_res) if reduce_res is not None else ())
    return record(opcode, engine, api, dsts, accesses(data, bias, scale), dst.shape[0], free_size(dst),
                  {"func": func.name, "reduce": reduce_res is not None}, producer_of=dst, mask=mask)


def _check_reduce_res(reduce_res, p: int, api: str) -> None:
    """An optional per-partition reduction output: on chip, one value for each of the ``p`` partitions."""
    if reduce_res is not None:
        on_chip(reduce_res, api, "reduce_res")
        if reduce_res.shape[0] != p or free_size(reduce_res) != 1:
            raise_error("err_invalid_argument", f"{api}: reduce_res must be [{p}, 1], got {list(reduce_res.shape)}")


def _scalar_or_column(x, p: int, api: str, arg: str):
    """A float scalar, or a [P, 1] tile (values shaped [P, 1]; None without numerics)."""
    if isinstance(x, Tile):
        on_chip(x, api, arg)
        if x.shape[0] != p or free_size(x) != 1:
            raise_error("err_invalid_argument", f"{api}: {arg} must be a scalar or a [{p}, 1] tile, got "
                                                f"{list(x.shape)}")
        return compute_values(x).reshape(p, 1) if numerics() else None
    if not isinstance(x, (int, float, np.number)):
        raise_error("err_invalid_argument", f"{api}: {arg} must be a number or a [{p}, 1] tile, got "
                                            f"{type(x).__name__}")
    return np.float32(x)


def _accumulate_rows(registers: np.ndarray | None, rows: np.ndarray, op: AluOp | None) -> None:
    if registers is not None and op is not None:
        with np.errstate(all="ignore"):
            registers[...] = np.asarray(op.np(registers, rows), dtype=np.float32)


def exponential(dst: Tile, src: Tile, max_value, api: str, registers: np.ndarray | None = None,
                reduce_res: Tile | None = None):
    """``dst = exp(src - max_value)`` on the Vector engine (NeuronCore-v4+). With ``registers`` (the Vector
    accumulators of dst's partitions) the row sums of dst are added to them, and ``reduce_res`` receives them."""
    require_nc(4, api)
    _check_inputs(api, dst, src)
    p = src.shape[0]
    if free_size(dst) != free_size(src):
        raise_error("err_invalid_argument", f"{api}: dst {list(dst.shape)} must hold as many elements per partition "
                                            f"as src {list(src.shape)}")
    if len(src.shape) > 5 or len(dst.shape) > 5:
        raise_error("err_exceed_max_supported_dimension", f"{api}: src and dst can be up to 4-D tensors")
    shift = _scalar_or_column(max_value, p, api, "max_value")
    _check_reduce_res(reduce_res, p, api)
    if numerics():
        v = compute_values(src).reshape(p, -1)
        with np.errstate(all="ignore"):
            r = np.exp(v - shift).astype(np.float32)
        dst.write(r.reshape(dst.shape))
        _accumulate_rows(registers, r.sum(axis=1, dtype=np.float32), ALU_ADD)
        if reduce_res is not None:
            rows = registers if registers is not None else r.sum(axis=1, dtype=np.float32)
            reduce_res.write(rows.reshape(reduce_res.shape))
    else:
        dst.alloc.mark_written()
        if reduce_res is not None:
            reduce_res.alloc.mark_written()
    dsts = accesses(dst) + (accesses(reduce_res) if reduce_res is not None else ())
    srcs = accesses(src) + (accesses(max_value) if isinstance(max_value, Tile) else ())
    return record("EXPONENTIAL", DVE, api, dsts, srcs, p, free_size(src),
                  {"reduce": registers is not None or reduce_res is not None}, producer_of=dst)


# activate2's tensor-scalar stage: the (op0, op1) pairs the Scalar engine runs.
ACTIVATE2_PAIRS = {("multiply", "add"), ("multiply", "subtract"), ("multiply", "bypass"), ("add", "bypass"),
                   ("subtract", "bypass"), ("bypass", "bypass")}
ACTIVATE2_REDUCE_OPS = {"add": 0.0, "maximum": -np.inf, "minimum": np.inf, "abs_max": 0.0, "abs_min": np.inf}


def activate2(dst: Tile, func: ActFunc, data: Tile, imm0, imm1, op0: AluOp, op1: AluOp, api: str, relu_param=0.0,
              reverse0: bool = False, reverse1: bool = False, reduce_op: AluOp | None = None,
              registers: np.ndarray | None = None, reduce_res: Tile | None = None):
    """``dst = func((data op0 imm0) op1 imm1)`` on the Scalar engine (NeuronCore-v4+); with ``registers`` (the
    Scalar accumulators of dst's partitions) ``reduce_op`` folds each row of dst into them, and ``reduce_res``
    reads them out (an extra accumulator read)."""
    require_nc(4, api)
    _check_inputs(api, dst, data)
    p = data.shape[0]
    if free_size(dst) != free_size(data):
        raise_error("err_invalid_argument", f"{api}: dst {list(dst.shape)} must hold as many elements per partition "
                                            f"as data {list(data.shape)}")
    if (op0.name, op1.name) not in ACTIVATE2_PAIRS:
        raise_error("err_unsupported_operation",
                    f"{api}: (op0, op1) = (nl.{op0.name}, nl.{op1.name}) is not a Scalar-engine pair; use one of "
                    + ", ".join(f"(nl.{a}, nl.{b})" for a, b in sorted(ACTIVATE2_PAIRS)))
    if (reverse0 and op0.name == "bypass") or (reverse1 and op1.name == "bypass"):
        raise_error("err_invalid_argument", f"{api}: reverse0/reverse1 need op0/op1 to be set (not nl.bypass)")
    if isinstance(imm0, Tile) and isinstance(imm1, Tile) and imm0.dtype != imm1.dtype:
        raise_error("err_unsupported_dtype", f"{api}: imm0 and imm1 tiles must have the same dtype")
    if reduce_op is not None and reduce_op.name not in ACTIVATE2_REDUCE_OPS:
        raise_error("err_unsupported_operation",
                    f"{api}: reduce_op=nl.{reduce_op.name} is not supported; use one of "
                    + ", ".join(f"nl.{n}" for n in ACTIVATE2_REDUCE_OPS))
    a0 = _scalar_or_column(imm0, p, api, "imm0")
    a1 = _scalar_or_column(imm1, p, api, "imm1")
    alpha = _scalar_or_column(relu_param, p, api, "relu_param")
    _check_reduce_res(reduce_res, p, api)
    if numerics():
        x = compute_values(data).reshape(p, -1)
        if op0.name != "bypass":
            x = _apply(op0, x, a0, reverse0)
        if op1.name != "bypass":
            x = _apply(op1, x, a1, reverse1)
        x = np.asarray(x, dtype=np.float32)
        _check_range(func, x, api)
        with np.errstate(all="ignore"):
            r = np.asarray(func.np(x, alpha) if func.name == "prelu" else func.np(x), dtype=np.float32)
        dst.write(r.reshape(dst.shape))
        if reduce_op is not None:
            _accumulate_rows(registers, _fold_rows(reduce_op, r), reduce_op)
        if reduce_res is not None and registers is not None:
            reduce_res.write(registers.reshape(reduce_res.shape))
    else:
        dst.alloc.mark_written()
        if reduce_res is not None:
            reduce_res.alloc.mark_written()
    dsts = accesses(dst) + (accesses(reduce_res) if reduce_res is not None else ())
    srcs = accesses(data, *(t for t in (imm0, imm1, relu_param) if isinstance(t, Tile)))
    return record("ACTIVATE2", ACT, api, dsts, srcs, p, free_size(dst),
                  {"func": func.name, "ops": (op0.name, op1.name), "reduce": reduce_res is not None},
                  producer_of=dst)


def _fold_rows(op: AluOp, r: np.ndarray) -> np.ndarray:
    """One value per row: the rows of ``r`` folded with ``op`` (add, max, min, abs_max, abs_min)."""
    with np.errstate(all="ignore"):
        if op.name == "add":
            return r.sum(axis=1, dtype=np.float32)
        out = r[:, 0].copy()
        for i in range(1, r.shape[1]):
            out = np.asarray(op.np(out, r[:, i]), dtype=np.float32)
        return out
