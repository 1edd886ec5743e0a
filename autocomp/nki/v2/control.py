"""Control flow of the v2 dialect: loops, ``nl.if_else``, VirtualRegisters and ``no_reorder``.

Python loops (and the ``affine/sequential/static_range`` aliases of ``range``, deprecated
from NKI 0.7) unroll at trace time. ``fori_loop``, ``while_loop`` (and, up to NKI 0.6,
``dynamic_range`` and ``while reg:``) are loops on the device: the simulator iterates them
concretely, records a ``dynamic`` loop frame and one sequencer branch (``REGISTER``) per
iteration, and hands the body the index as a ``VirtualRegister`` or, from 0.7, an
``NkiScalar``. ``nl.if_else`` (0.7) runs the branch its run-time condition selects, after one
sequencer branch. Version rules: docs/nki-semantics.md#nki-versions.
"""

from __future__ import annotations

import contextlib

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.ops.common import free_size, record
from autocomp.nki.ops.operands import ctx_state
from autocomp.nki.runtime import current, current_or_none, loop_range
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SP
from autocomp.nki.v2 import versioning
from autocomp.nki.v2.scalars import NkiScalar

MAX_DYNAMIC_ITERATIONS = 1_000_000
# nl.dynamic_range and `while reg:` loops: deprecated in NKI 0.6 (a warning), removed in NKI 0.7.
DEPRECATED_IN, REMOVED_IN = (0, 6), (0, 7)
DYNAMIC_RANGE_INSTEAD = "write the loop as nl.fori_loop(lower, upper, body_fun)"
WHILE_INSTEAD = "write the loop as nl.while_loop(init, body_fun)"
RANGE_ALIASES_DEPRECATED_IN = (0, 7)
IF_ELSE_SINCE = (0, 7)
UNROLL_SINCE = (0, 7)  # fori_loop(unroll=True)


class VirtualRegister:
    """A 32-bit engine register holding a run-time scalar (loop bound, loop index, dynamic offset)."""

    __slots__ = ("value", "frozen", "initialized")

    def __init__(self, value: int = 0, frozen: bool = False, initialized: bool = True):
        self.value = int(value)
        self.frozen = frozen
        self.initialized = initialized

    def register_value(self) -> int:
        return self.value

    def __bool__(self) -> bool:
        """``while reg:`` is a device loop (deprecated in NKI 0.6, removed in 0.7): each test is a branch."""
        if current_or_none() is not None:
            versioning.removed(REMOVED_IN, "`while reg:` on a VirtualRegister", WHILE_INSTEAD)
            versioning.deprecated(DEPRECATED_IN, "`while reg:` on a VirtualRegister", WHILE_INSTEAD)
            _record("nisa.<while register>", "branch")
        return self.value != 0

    def __index__(self) -> int:
        return self.value

    __int__ = __index__

    # Arithmetic on registers resolves to plain ints (address arithmetic the compiler folds).
    def __add__(self, other):
        return self.value + int(other)

    __radd__ = __add__

    def __sub__(self, other):
        return self.value - int(other)

    def __rsub__(self, other):
        return int(other) - self.value

    def __mul__(self, other):
        return self.value * int(other)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        return self.value // int(other)

    def __mod__(self, other):
        return self.value % int(other)

    def __repr__(self) -> str:
        return f"VirtualRegister({self.value}{', frozen' if self.frozen else ''})"


def _record(api: str, op: str, dst=(), src=()) -> None:
    record("REGISTER", SP, api, dst, src, 1, 1, {"op": op})


def _one_element(t, api: str, arg: str) -> Tile:
    if not isinstance(t, Tile) or free_size(t) * (t.shape[0] if t.shape else 1) != 1:
        raise_error("err_invalid_argument",
                    f"{api}: {arg} must be a tensor holding exactly one element (shape [1, 1]), got "
                    f"{list(getattr(t, 'shape', ())) or type(t).__name__}")
    return t


def register_alloc(x: int | None = None) -> VirtualRegister:
    """A new register, uninitialised (None), set to an int, or loaded from a one-element tensor."""
    if isinstance(x, Tile):
        reg = VirtualRegister(0, initialized=False)
        register_load(reg, x)
        return reg
    _record("nisa.register_alloc", "alloc")
    return VirtualRegister(0 if x is None else int(x), initialized=x is not None)


def _writable(dst, api: str) -> VirtualRegister:
    if not isinstance(dst, VirtualRegister):
        raise_error("err_invalid_argument", f"{api}: dst must be a VirtualRegister from nisa.register_alloc()")
    if dst.frozen:
        raise_error("err_invalid_argument",
                    f"{api}: the induction variable of a dynamic loop is read-only; copy it into a register from "
                    "nisa.register_alloc() first")
    return dst


def register_move(dst, src) -> None:
    """``dst = src`` (an int or another register)."""
    api = "nisa.register_move"
    _writable(dst, api)
    dst.value = src.value if isinstance(src, VirtualRegister) else int(src)
    dst.initialized = True
    _record(api, "move")


def register_load(dst, src) -> None:
    """Load the single value of an SBUF/HBM tensor into a register."""
    api = "nisa.register_load"
    _writable(dst, api)
    src = _one_element(src, api, "src")
    if src.alloc.data is not None:
        dst.value = int(np.asarray(src.read()).reshape(-1)[0])
    dst.initialized = True
    _record(api, "load", src=(src.access(),))


def register_store(dst, src) -> None:
    """Store a register's value into a one-element SBUF/HBM tensor."""
    api = "nisa.register_store"
    dst = _one_element(dst, api, "dst")
    if not isinstance(src, VirtualRegister):
        raise_error("err_invalid_argument", f"{api}: src must be a VirtualRegister")
    if dst.alloc.has_values:
        dst.write(np.full(dst.shape, src.value))
    else:
        dst.alloc.mark_written()
    _record(api, "store", dst=(dst.access(),))


def _bound(x, api: str, arg: str) -> int:
    if isinstance(x, VirtualRegister):
        return x.value
    if isinstance(x, NkiScalar):
        if x.dtype != "int32":
            raise_error("err_unsupported_dtype",
                        f"{api}: {arg} is an {x.dtype} NkiScalar; a loop bound must be 32-bit (the loop's "
                        "compare-and-branch has no 64-bit form)")
        return x.value
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    raise_error("err_invalid_argument", f"{api}: {arg} must be an int, a VirtualRegister or an NkiScalar, got {x!r}")


def _check_step(step, api: str) -> int:
    if isinstance(step, (VirtualRegister, NkiScalar)) or not isinstance(step, (int, np.integer)) or int(step) <= 0:
        raise_error("err_invalid_argument", f"{api}: step must be a positive compile-time int, got {step!r}")
    if _state().no_reorder:
        raise_error("err_unsupported_operation",
                    f"{api}: dynamic loops inside nl.no_reorder() are not supported; put the no_reorder block "
                    "inside the loop body")
    return int(step)


def dynamic_range(start, stop=None, step: int = 1):
    """A loop on the device; the index is a read-only VirtualRegister (removed in NKI 0.7: use fori_loop)."""
    api = "nl.dynamic_range"
    versioning.removed(REMOVED_IN, api, DYNAMIC_RANGE_INSTEAD)
    versioning.deprecated(DEPRECATED_IN, api, DYNAMIC_RANGE_INSTEAD)
    if stop is None:
        start, stop = 0, start
    step = _check_step(step, api)
    lo, hi = _bound(start, api, "start"), _bound(stop, api, "stop")
    return (VirtualRegister(value, frozen=True) for value in _dynamic(lo, hi, step, api))


def _dynamic(lo: int, hi: int, step: int, api: str):
    for value in loop_range("dynamic", (lo, hi, step), api):
        _record(api, "branch")
        yield value


def fori_loop(lower, upper, body_fun, step=1, *, init_val=None, unroll: bool = False):
    """``for i in range(lower, upper, step): body_fun(i)`` as a loop on the device.

    The body gets ``i`` by value: a VirtualRegister when a bound is one (or up to NKI 0.6), else
    (NKI 0.7) an int32 NkiScalar. Also accepts the JAX form ``fori_loop(lower, upper, body_fun,
    init_val)``: ``val = body_fun(i, val)``, returning the final value. ``unroll=True`` (NKI 0.7):
    the compiler unrolls the loop, so its bounds must be Python ints and no loop branch runs on the
    device; the body computes the same values.
    """
    api = "nl.fori_loop"
    carried = init_val is not None or not isinstance(step, (int, np.integer))
    if not isinstance(step, (int, np.integer)):
        init_val, step = step, 1
    step = _check_step(step, api)
    if unroll:
        versioning.require(UNROLL_SINCE, f"{api}(unroll=True)", "unroll with a Python for loop")
        for name, bound in (("lower", lower), ("upper", upper)):
            if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, (int, np.integer)):
                raise_error("err_invalid_argument",
                            f"{api}(unroll=True): the {name} bound is {type(bound).__name__}; an unrolled loop "
                            "needs bounds known at compile time (Python ints): drop unroll=True for run-time bounds")
    lo, hi = _bound(lower, api, "lower"), _bound(upper, api, "upper")
    registers = (isinstance(lower, VirtualRegister) or isinstance(upper, VirtualRegister)
                 or not versioning.at_least(REMOVED_IN))
    val = init_val
    for value in (range(lo, hi, step) if unroll else _dynamic(lo, hi, step, api)):
        # passed by value: writing it does not steer the loop
        i = VirtualRegister(value) if registers else NkiScalar(value, "int32")
        if carried:
            val = body_fun(i, val)
        else:
            body_fun(i)
    return val if carried else None


def if_else(cond, then_fn, else_fn=None) -> None:
    """Run ``then_fn()`` when ``cond`` is nonzero, else ``else_fn()`` (NKI 0.7).

    A Python bool or int is resolved now, with no instruction. An int32 NkiScalar is a
    run-time condition: one sequencer branch, then the branch its value selects.
    """
    api = "nl.if_else"
    versioning.require(IF_ELSE_SINCE, api, "branch on compile-time values with a Python if, or select data with "
                       "nl.where / nisa.affine_select")
    for name, fn in (("then_fn", then_fn), ("else_fn", else_fn)):
        if fn is not None and not callable(fn):
            raise_error("err_invalid_argument", f"{api}: {name} must be a function taking no arguments, got {fn!r}")
    if isinstance(cond, NkiScalar):
        if cond.dtype != "int32":
            raise_error("err_unsupported_dtype", f"{api}: the condition is an {cond.dtype} NkiScalar; it must be "
                                                 "32-bit")
        _record(api, "branch")
        taken = cond.value != 0
    elif isinstance(cond, (bool, int, np.integer, np.bool_)):
        taken = bool(cond)
    else:
        what = "a VirtualRegister" if isinstance(cond, VirtualRegister) else type(cond).__name__
        raise_error("err_invalid_argument",
                    f"{api}: the condition is {what}; pass a Python bool/int or an int32 NkiScalar (load a 1x1 "
                    "int32 tensor with nisa.scalar_load, compare it, e.g. nisa.scalar_load(t) > 0)")
    chosen = then_fn if taken else else_fn
    if chosen is None:
        return None
    result = chosen()
    if result is not None:
        raise_error("err_invalid_argument",
                    f"{api}: the branch functions return nothing, but {getattr(chosen, '__name__', 'a branch')} "
                    f"returned {type(result).__name__}; write results into tensors instead")
    return None


def while_loop(init, body_fun) -> None:
    """``r = init; while r != 0: r = body_fun(r)`` on the device (the body gets ``r`` by value)."""
    api = "nl.while_loop"
    ctx = current()
    value = _bound(init, api, "init")
    parent = ctx.loop
    loop_id = ctx.enter_loop("dynamic", 0)
    try:
        it = 0
        while value != 0:
            if it >= MAX_DYNAMIC_ITERATIONS:
                raise_error("err_runtime_out_of_bounds",
                            f"{api}: the loop ran {MAX_DYNAMIC_ITERATIONS} iterations without its register reaching "
                            "0; check the body updates the condition register")
            ctx.set_iteration(parent, loop_id, "dynamic", it, 0)
            _record(api, "branch")
            nxt = body_fun(NkiScalar(value, "int32") if isinstance(init, NkiScalar) else VirtualRegister(value))
            value = _bound(nxt, api, "the body's return value")
            it += 1
    finally:
        ctx.exit_loop(loop_id, parent)


def static_loop(kind: str, args: tuple, api: str):
    """``affine_range`` / ``sequential_range`` / ``static_range``: aliases of ``range``, unrolled (deprecated from
    NKI 0.7, with a warning naming ``range``)."""
    versioning.deprecated(RANGE_ALIASES_DEPRECATED_IN, api, "write the loop with Python range(...), which it "
                          "now is")
    start, stop, step = args
    if stop is None:
        start, stop = 0, start
    return loop_range(kind, (start, stop, step), api)


class _State:
    __slots__ = ("no_reorder",)

    def __init__(self):
        self.no_reorder = 0


def _state() -> _State:
    return ctx_state("v2_control", _State)


@contextlib.contextmanager
def no_reorder():
    """Instructions inside keep their program order (a scheduling hint; numerics are unchanged)."""
    state = _state()
    state.no_reorder += 1
    try:
        yield
    finally:
        state.no_reorder -= 1
