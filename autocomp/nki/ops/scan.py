"""The Vector engine's scans along each partition: ``tensor_tensor_scan`` and ``tensor_scalar_cumulative``."""

from __future__ import annotations

import numpy as np

from autocomp.nki.alu import AluOp
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, PSUM, accesses, compute_values, free_size, numerics, record
from autocomp.nki.ops.operands import column, compute_tile, per_partition, require_arithmetic, same_layout
from autocomp.nki.tile import Tile


def tensor_tensor_scan(dst: Tile, data0: Tile, data1: Tile, initial, op0: AluOp, op1: AluOp, api: str,
                       reverse0: bool = False, reverse1: bool = False, mask: Mask | None = None):
    """Per partition: ``r[i] = op1(op0(data0[i], r[i-1]), data1[i])`` from ``r[-1] = initial``, in fp32."""
    for t, arg in ((data0, "data0"), (data1, "data1"), (dst, "dst")):
        compute_tile(t, api, arg)
    if data0.buffer == PSUM and data1.buffer == PSUM:
        raise_error("err_unsupported_memory", f"{api}: data0 and data1 cannot both be in PSUM; copy one to SBUF")
    same_layout(api, data0, (data1, "data1"), (dst, "dst"))
    require_arithmetic(op0, api, "op0")
    require_arithmetic(op1, api, "op1")
    p, n = data0.shape[0], free_size(data0)
    if isinstance(initial, Tile):
        per_partition(initial, p, api, "initial")
    if numerics():
        a = compute_values(data0, mask).reshape(p, n)
        b = compute_values(data1, mask).reshape(p, n)
        init = np.broadcast_to(np.asarray(column(initial, p), dtype=np.float32).reshape(-1), (p,))
        r = _scan(a, b, init, op0, op1, reverse0, reverse1)
        dst.write(r.reshape(dst.shape), mask)
    else:
        dst.alloc.mark_written()
    srcs = accesses(data0, data1, mask=mask) + (accesses(initial) if isinstance(initial, Tile) else ())
    return record("TENSOR_TENSOR_SCAN", DVE, api, accesses(dst, mask=mask), srcs, p, n,
                  {"ops": (op0.name, op1.name)}, producer_of=dst, mask=mask)


def _scan(a: np.ndarray, b: np.ndarray, init: np.ndarray, op0: AluOp, op1: AluOp, reverse0: bool,
          reverse1: bool) -> np.ndarray:
    if op0.name == "add" and op1.name == "add":
        # cumsum adds left to right in fp32, exactly like the element loop.
        return np.cumsum(np.concatenate([init[:, None], a + b], axis=1), axis=1, dtype=np.float32)[:, 1:]
    out = np.empty(a.shape, dtype=np.float32)
    r = init.astype(np.float32)
    with np.errstate(all="ignore"):
        for i in range(a.shape[1]):
            t = op0.np(r, a[:, i]) if reverse0 else op0.np(a[:, i], r)
            r = np.asarray(op1.np(b[:, i], t) if reverse1 else op1.np(t, b[:, i]), dtype=np.float32)
            out[:, i] = r
    return out


# reduce_cmd=reset_reduce starts tensor_scalar_cumulative's accumulator at op1's identity.
CUMULATIVE_OPS = {"add": 0.0, "subtract": 0.0, "multiply": 1.0, "maximum": -np.inf, "minimum": np.inf}


def tensor_scalar_cumulative(dst: Tile, src: Tile, op0: AluOp, imm0, op1: AluOp, registers: np.ndarray | None,
                             api: str):
    """Per partition: ``reg = op1(op0(src[i], imm0), reg); dst[i] = reg`` from ``registers`` (the Vector
    accumulators of dst's partitions, float32), which are left holding the last value."""
    for t, arg in ((src, "src"), (dst, "dst")):
        compute_tile(t, api, arg)
        if t.dtype.itemsize == 4 and t.dtype.kind in "iu":
            raise_error("err_unsupported_dtype", f"{api}: {arg} cannot be int32/uint32 (an ISA limit); use a float "
                                                 "or a 16/8-bit integer type")
    same_layout(api, src, (dst, "dst"))
    require_arithmetic(op0, api, "op0")
    if op1.name not in CUMULATIVE_OPS:
        raise_error("err_unsupported_operation",
                    f"{api}: op1=nl.{op1.name} cannot accumulate; use nl.add, nl.subtract, nl.multiply, nl.maximum "
                    "or nl.minimum")
    p, n = src.shape[0], free_size(src)
    if isinstance(imm0, Tile):
        per_partition(imm0, p, api, "imm0")
    if numerics():
        with np.errstate(all="ignore"):
            a = np.asarray(op0.np(compute_values(src).reshape(p, n), column(imm0, p)), dtype=np.float32)
        a = np.broadcast_to(a, (p, n))
        out = np.empty((p, n), dtype=np.float32)
        r = registers.astype(np.float32, copy=True)
        with np.errstate(all="ignore"):
            for i in range(n):
                r = np.asarray(op1.np(a[:, i], r), dtype=np.float32)
                out[:, i] = r
        registers[...] = r
        dst.write(out.reshape(dst.shape))
    else:
        dst.alloc.mark_written()
    srcs = accesses(src) + (accesses(imm0) if isinstance(imm0, Tile) else ())
    return record("TENSOR_SCALAR_CUMULATIVE", DVE, api, accesses(dst), srcs, p, n, {"ops": (op0.name, op1.name)},
                  producer_of=dst)
