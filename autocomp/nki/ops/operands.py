"""Operand helpers shared by the less common instructions (selects, scans, statistics, searches, GpSimd ops)."""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.alu import ALU_OPS, AluOp, alu
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import PSUM, SBUF, compute_values, free_size, on_chip, tile_checks
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile

# numpy reductions that kernels pass where NKI expects an ALU op (``reduce_op=np.amax``).
_NUMPY_REDUCERS = {"amax": "maximum", "max": "maximum", "amin": "minimum", "min": "minimum", "sum": "add",
                   "prod": "multiply"}


def compute_tile(t: Tile, api: str, arg: str, allowed=(SBUF, PSUM)) -> Tile:
    """An on-chip compute operand or destination: right memory, partitions first, at most 128 of them."""
    on_chip(t, api, arg, allowed=allowed)
    tile_checks(t, api, arg)
    return t


def alu_op(op, api: str, arg: str = "op") -> AluOp:
    """An ALU operator from an nl/np function, also accepting numpy reductions such as ``np.amax``."""
    name = getattr(op, "__name__", None)
    if isinstance(name, str) and name in _NUMPY_REDUCERS and not isinstance(op, AluOp):
        return ALU_OPS[_NUMPY_REDUCERS[name]]
    if op is None:
        raise_error("err_invalid_argument", f"{api}: {arg} is required (an ALU operator such as nl.add)")
    return alu(op)


def require_op(op: AluOp, allowed: tuple[str, ...], api: str, arg: str) -> None:
    if op.name not in allowed:
        raise_error("err_unsupported_operation",
                    f"{api}: {arg}=nl.{op.name} is not supported; use one of "
                    + ", ".join(f"nl.{a}" for a in allowed))


def same_layout(api: str, ref: Tile, *others: tuple[Tile, str]) -> None:
    """Each of ``others`` has the partitions and the elements per partition of ``ref``."""
    for t, arg in others:
        if t.shape[0] != ref.shape[0]:
            raise_error("err_num_partition_mismatch",
                        f"{api}: {arg} has {t.shape[0]} partitions but the data has {ref.shape[0]}")
        if free_size(t) != free_size(ref):
            raise_error("err_invalid_argument",
                        f"{api}: {arg} {list(t.shape)} must hold as many elements per partition as the data "
                        f"{list(ref.shape)}")


def require_arithmetic(op: AluOp, api: str, arg: str) -> None:
    if op.bitvec or op.unary:
        raise_error("err_unsupported_operation",
                    f"{api}: {arg}=nl.{op.name} must be a binary arithmetic operator (nl.add, nl.multiply, ...)")


def reduced_mask(mask: Mask | None, shape: tuple[int, ...], axes: tuple[int, ...]) -> Mask | None:
    """The mask of a reduction's result: an output element is written when any of its inputs is valid."""
    if mask is None:
        return None
    valid = np.broadcast_to(mask.values, shape)
    return Mask(valid.any(axis=axes, keepdims=True))


def row_mask(mask: Mask | None, shape: tuple[int, ...]) -> Mask | None:
    """For results with one row per partition: partitions where the mask leaves anything valid."""
    return reduced_mask(mask, shape, tuple(range(1, len(shape))))


def per_partition_mask(mask: Mask | None, shape: tuple[int, ...]) -> Mask | None:
    """A row mask (from ``row_mask``) reshaped for a [P, 1]-like, possibly 1-D, tile."""
    return None if mask is None else Mask(mask.values.reshape(shape[:1] + (1,) * (len(shape) - 1)))


def valid_2d(mask: Mask | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The mask as a [P, free] boolean array, or None when everything is valid."""
    if mask is None:
        return None
    return np.broadcast_to(mask.values, shape).reshape(shape[0], -1)


def per_partition(x, p: int, api: str, arg: str) -> Tile:
    """A ``[P, 1]`` operand (one value per partition); 1-D ``t[:, i]`` tiles count as well."""
    on_chip(x, api, arg)
    if x.shape[0] != p or free_size(x) != 1:
        raise_error("err_num_partition_mismatch" if x.shape[0] != p else "err_invalid_argument",
                    f"{api}: {arg} must hold one value per partition, shape [{p}, 1], got {list(x.shape)}")
    return x


def column(x, p: int) -> np.ndarray | float:
    """Values of a scalar or ``[P, 1]`` operand, shaped to broadcast against [P, free]."""
    if isinstance(x, Tile):
        return compute_values(x).reshape(p, 1)
    return np.float32(x) if isinstance(x, (float, np.floating)) else x


def is_scalar(x) -> bool:
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def require_dtype(t: Tile, ok, api: str, arg: str, what: str) -> None:
    if not ok(t.dtype):
        raise_error("err_unsupported_dtype", f"{api}: {arg} must be {what}, got {dt.dtype_name(t.dtype)}")


def ctx_state(name: str, factory):
    """Per-kernel engine state kept across instructions (accumulator registers, RNG)."""
    ctx = current()
    value = getattr(ctx, name, None)
    if value is None:
        value = factory()
        setattr(ctx, name, value)
    return value
