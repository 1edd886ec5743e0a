"""``nki.isa.NkiScalar`` (NKI 0.7): a run-time integer loaded from a 1x1 tensor.

A scalar is a value on the device: arithmetic on it records a sequencer ALU instruction and
yields a new scalar (the simulator also knows the value, so a later ``scalar_offset``, loop
bound or ``nl.if_else`` uses it). Its width is fixed by the tensor it was loaded from: int32
wraps instead of widening; int64 has only ``+``, ``-`` and ``*``. Comparisons of int32 scalars
give an int32 scalar holding 1 or 0. A scalar is never a Python ``if``/``while`` condition
(use ``nl.if_else`` / ``nl.while_loop``). docs/nki-semantics.md#nki-versions lists the rules.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki.dtypes import dtype_name
from autocomp.nki.errors import raise_error
from autocomp.nki.ops.common import free_size, record
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SP
from autocomp.nki.v2 import versioning

SINCE = (0, 7)
_WIDTH = {"int32": 32, "int64": 64}
_UNSIGNED_TWIN = {"uint32": "int32", "uint64": "int64"}


def _wrap(value: int, dtype: str) -> int:
    bits = _WIDTH[dtype]
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _record(api: str, op: str, dst=(), src=()) -> None:
    record("REGISTER", SP, api, dst, src, 1, 1, {"op": op})


class NkiScalar:
    """One integer computed on the device (``nl.int32`` or ``nl.int64``)."""

    __slots__ = ("value", "dtype")
    __hash__ = None  # == builds a comparison scalar, so scalars are not dict keys

    def __init__(self, value: int, dtype: str = "int32"):
        if dtype not in _WIDTH:
            raise_error("err_unsupported_dtype", f"NkiScalar: dtype {dtype!r}; a scalar is nl.int32 or nl.int64")
        self.dtype = dtype
        self.value = _wrap(int(value), dtype)

    def register_value(self) -> int:
        """The value, for ``scalar_offset=`` and loop bounds (the simulator knows it)."""
        return self.value

    def __bool__(self) -> bool:
        raise_error("err_dynamic_control_flow_not_supported",
                    "an NkiScalar holds a run-time value, so it cannot be a Python if/while condition; branch with "
                    "nl.if_else(cond, then_fn, else_fn) or loop with nl.while_loop / nl.fori_loop")

    def _other(self, other, op: str) -> int:
        if isinstance(other, NkiScalar):
            if other.dtype != self.dtype:
                raise_error("err_invalid_argument",
                            f"NkiScalar {op}: operands are {self.dtype} and {other.dtype}; scalars must have the same "
                            "width (load both from tensors of one dtype)")
            return other.value
        if isinstance(other, (bool, np.bool_)) or not isinstance(other, (int, np.integer)):
            raise_error("err_invalid_argument",
                        f"NkiScalar {op}: the other operand must be a Python int or an NkiScalar, got "
                        f"{type(other).__name__}")
        return int(other)

    def _arith(self, other, op: str, fn, reverse: bool = False) -> NkiScalar:
        b = self._other(other, op)
        a = self.value
        _record(f"NkiScalar.{op}", "alu")
        return NkiScalar(fn(b, a) if reverse else fn(a, b), self.dtype)

    def _compare(self, other, op: str, fn) -> NkiScalar:
        b = self._other(other, op)
        if self.dtype != "int32":
            raise_error("err_unsupported_dtype",
                        f"NkiScalar {op}: comparisons exist for nl.int32 scalars only, this one is {self.dtype}")
        _record(f"NkiScalar.{op}", "alu")
        return NkiScalar(1 if fn(self.value, b) else 0, "int32")

    def __add__(self, o):
        return self._arith(o, "add", lambda a, b: a + b)

    def __radd__(self, o):
        return self._arith(o, "add", lambda a, b: a + b, reverse=True)

    def __sub__(self, o):
        return self._arith(o, "subtract", lambda a, b: a - b)

    def __rsub__(self, o):
        return self._arith(o, "subtract", lambda a, b: a - b, reverse=True)

    def __mul__(self, o):
        return self._arith(o, "multiply", lambda a, b: a * b)

    def __rmul__(self, o):
        return self._arith(o, "multiply", lambda a, b: a * b, reverse=True)

    def __neg__(self):
        return self._arith(0, "subtract", lambda a, b: a - b, reverse=True)

    def __lt__(self, o):
        return self._compare(o, "less", lambda a, b: a < b)

    def __le__(self, o):
        return self._compare(o, "less_equal", lambda a, b: a <= b)

    def __gt__(self, o):
        return self._compare(o, "greater", lambda a, b: a > b)

    def __ge__(self, o):
        return self._compare(o, "greater_equal", lambda a, b: a >= b)

    def __eq__(self, o):
        return self._compare(o, "equal", lambda a, b: a == b)

    def __ne__(self, o):
        return self._compare(o, "not_equal", lambda a, b: a != b)

    def __repr__(self) -> str:
        return f"NkiScalar({self.value}, {self.dtype})"


def _one_by_one(t, api: str, arg: str) -> Tile:
    if not isinstance(t, Tile) or free_size(t) * (t.shape[0] if t.shape else 1) != 1:
        raise_error("err_invalid_argument",
                    f"{api}: {arg} must be a 1x1 tensor, got {list(getattr(t, 'shape', ())) or type(t).__name__}")
    return t


def _scalar_dtype(t: Tile, api: str, arg: str) -> str:
    name = dtype_name(t.dtype)
    if name not in _WIDTH:
        hint = f" (use nl.{_UNSIGNED_TWIN[name]}, the signed dtype of the same width)" if name in _UNSIGNED_TWIN else ""
        raise_error("err_unsupported_dtype", f"{api}: {arg} is {name}; a scalar tensor is nl.int32 or nl.int64{hint}")
    return name


def scalar_load(src) -> NkiScalar:
    """Load the value of a 1x1 int32/int64 SBUF or HBM tensor into an NkiScalar (NKI 0.7)."""
    api = "nisa.scalar_load"
    versioning.require(SINCE, api, "use nisa.register_alloc() and nisa.register_load()")
    src = _one_by_one(src, api, "src")
    dtype = _scalar_dtype(src, api, "src")
    value = int(np.asarray(src.read()).reshape(-1)[0]) if src.alloc.data is not None else 0
    _record(api, "load", src=(src.access(),))
    return NkiScalar(value, dtype)


def scalar_store(dst, value) -> None:
    """Store an NkiScalar into a 1x1 tensor of the same width (NKI 0.7)."""
    api = "nisa.scalar_store"
    versioning.require(SINCE, api, "use nisa.register_store()")
    dst = _one_by_one(dst, api, "dst")
    if not isinstance(value, NkiScalar):
        raise_error("err_invalid_argument",
                    f"{api}: value must be an NkiScalar, got {type(value).__name__}; write a compile-time constant "
                    "with nisa.memset")
    dtype = _scalar_dtype(dst, api, "dst")
    if dtype != value.dtype:
        raise_error("err_unsupported_dtype",
                    f"{api}: dst is {dtype} but the scalar is {value.dtype}; store at the scalar's own width")
    if dst.alloc.has_values:
        dst.write(np.full(dst.shape, value.value))
    else:
        dst.alloc.mark_written()
    _record(api, "store", dst=(dst.access(),))
