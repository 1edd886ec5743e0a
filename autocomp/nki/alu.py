"""ALU operators and activation functions, shared by both NKI dialects.

In NKI the same name is both a function and an operator argument:
``nl.add(x, y)`` computes, ``nisa.tensor_tensor(x, y, op=nl.add)`` names the
ALU op, ``nisa.activation(op=nl.exp, ...)`` names the activation function. Each
object here is callable (through the value-returning call ``functional`` binds
to its name) and carries the numpy implementation used by the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Filled by autocomp.nki.functional: name -> callable implementing nl.<name>(...).
_CALLS: dict[str, Callable] = {}


def bind(name: str, fn: Callable) -> None:
    _CALLS[name] = fn


class AluOp:
    """A Vector/GpSimd ALU operator (binary unless ``unary``)."""

    __slots__ = ("name", "np", "bitvec", "unary", "compare")

    def __init__(self, name: str, fn, bitvec: bool = False, unary: bool = False, compare: bool = False):
        self.name, self.np, self.bitvec, self.unary, self.compare = name, fn, bitvec, unary, compare

    def __call__(self, *args, **kwargs):
        fn = _CALLS.get(self.name)
        if fn is None:
            raise NotImplementedError(f"nl.{self.name} cannot be called in this dialect")
        return fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"nl.{self.name}"


class ActFunc:
    """A Scalar-engine activation function with its valid input range (docs/nki-semantics.md#numerics)."""

    __slots__ = ("name", "np", "valid")

    def __init__(self, name: str, fn, valid: tuple[float, float] | None = None):
        self.name, self.np, self.valid = name, fn, valid

    def __call__(self, *args, **kwargs):
        fn = _CALLS.get(self.name)
        if fn is None:
            raise NotImplementedError(f"nl.{self.name} cannot be called in this dialect")
        return fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"nl.{self.name}"


def _bits(fn):
    def op(a, b):
        a, b = np.asarray(a), np.asarray(b)  # scalar operands arrive as Python ints
        return fn(a.astype(np.int64) if a.dtype.kind == "f" else a, b.astype(np.int64) if b.dtype.kind == "f" else b)
    return op


def _safe_divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _power(a, b):
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return np.power(a, b)


ALU_OPS: dict[str, AluOp] = {op.name: op for op in [
    AluOp("add", np.add), AluOp("subtract", np.subtract), AluOp("multiply", np.multiply),
    AluOp("divide", _safe_divide), AluOp("maximum", np.maximum), AluOp("minimum", np.minimum),
    AluOp("power", _power), AluOp("mod", np.mod), AluOp("fmod", np.fmod),
    AluOp("equal", lambda a, b: np.equal(a, b), compare=True),
    AluOp("not_equal", lambda a, b: np.not_equal(a, b), compare=True),
    AluOp("greater", np.greater, compare=True), AluOp("greater_equal", np.greater_equal, compare=True),
    AluOp("less", np.less, compare=True), AluOp("less_equal", np.less_equal, compare=True),
    AluOp("logical_and", np.logical_and, compare=True), AluOp("logical_or", np.logical_or, compare=True),
    AluOp("logical_xor", np.logical_xor, compare=True),
    AluOp("logical_not", lambda a, b=None: np.logical_not(a), unary=True, compare=True),
    AluOp("bitwise_and", _bits(np.bitwise_and), bitvec=True), AluOp("bitwise_or", _bits(np.bitwise_or), bitvec=True),
    AluOp("bitwise_xor", _bits(np.bitwise_xor), bitvec=True),
    AluOp("invert", lambda a, b=None: np.invert(a), bitvec=True, unary=True),
    AluOp("left_shift", _bits(np.left_shift), bitvec=True), AluOp("right_shift", _bits(np.right_shift), bitvec=True),
    # The operand of larger magnitude, keeping its sign (nl.abs_max(-5, 3) is -5); a tie gives the second operand.
    # tensor_reduce by abs_max gives the largest magnitude instead (ops/reduce.py).
    AluOp("abs_max", lambda a, b: np.where(np.abs(a) > np.abs(b), a, b)),
    # The operand of smaller magnitude, keeping its sign; a tie gives the second operand (NeuronCore-v4+).
    AluOp("abs_min", lambda a, b: np.where(np.abs(a) < np.abs(b), a, b)),
    AluOp("bypass", lambda a, b=None: a, unary=True),
    AluOp("rsqrt_alu", lambda a, b=None: 1.0 / np.sqrt(a), unary=True),
]}

# Aliases NKI exposes under other names.
ALU_OPS["max"] = ALU_OPS["maximum"]
ALU_OPS["min"] = ALU_OPS["minimum"]


def _erf(x):
    """erf with fractional error < 1.2e-7 (Chebyshev fit of erfc), evaluated in float64."""
    z = np.abs(np.asarray(x, dtype=np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(np.asarray(x) >= 0, 1.0 - erfc, erfc - 1.0).astype(np.float32)


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x ** 3)))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _silu(x):
    return x * _sigmoid(x)


def _silu_dx(x):
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _softplus(x):
    with np.errstate(over="ignore"):
        return np.logaddexp(np.float32(0.0), x)


def _gelu_dx(x):
    cdf = 0.5 * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))
    pdf = np.exp(-0.5 * x * x) / np.float32(math.sqrt(2.0 * math.pi))
    return cdf + x * pdf


# GELU's sigmoid approximation x * sigmoid(1.702 x), and its derivative.
_GELU_SIGMOID_K = np.float32(1.702)


def _gelu_sigmoid(x):
    return x * _sigmoid(_GELU_SIGMOID_K * x)


def _gelu_sigmoid_dx(x):
    s = _sigmoid(_GELU_SIGMOID_K * x)
    return s + _GELU_SIGMOID_K * x * s * (1.0 - s)


def prelu(x, alpha=0.0):
    """Parametric ReLU: x where x >= 0, alpha * x elsewhere (alpha is activate2's relu_param)."""
    return np.where(x >= 0, x, np.asarray(alpha, dtype=np.float32) * x)


def _mish(x):
    return x * np.tanh(_softplus(x))


def _quiet(fn):
    def wrapped(x):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(x)
    return wrapped


ACT_FUNCS: dict[str, ActFunc] = {f.name: f for f in [
    ActFunc("exp", _quiet(np.exp)),
    ActFunc("log", _quiet(np.log), (2.0 ** -64, 2.0 ** 64)),
    ActFunc("sqrt", _quiet(np.sqrt), (2.0 ** -116, 2.0 ** 118)),
    ActFunc("rsqrt", _quiet(lambda x: 1.0 / np.sqrt(x)), (2.0 ** -87, 2.0 ** 97)),
    ActFunc("reciprocal", _quiet(lambda x: 1.0 / x)),
    ActFunc("square", np.square), ActFunc("tanh", np.tanh), ActFunc("sigmoid", _sigmoid),
    ActFunc("relu", lambda x: np.maximum(x, 0)), ActFunc("silu", _silu), ActFunc("silu_dx", _silu_dx),
    ActFunc("gelu", _gelu), ActFunc("gelu_dx", _gelu_dx), ActFunc("gelu_apprx_tanh", _gelu_tanh),
    ActFunc("gelu_apprx_sigmoid", _gelu_sigmoid), ActFunc("gelu_apprx_sigmoid_dx", _gelu_sigmoid_dx),
    ActFunc("prelu", prelu),
    ActFunc("softplus", _softplus), ActFunc("mish", _mish), ActFunc("erf", _erf),
    ActFunc("erf_dx", lambda x: np.float32(2.0 / math.sqrt(math.pi)) * np.exp(-x * x)),
    ActFunc("sin", np.sin, (-math.pi, math.pi)), ActFunc("cos", np.cos),
    ActFunc("arctan", np.arctan, (-math.pi / 2, math.pi / 2)), ActFunc("abs", np.abs), ActFunc("sign", np.sign),
    ActFunc("copy", lambda x: x), ActFunc("identity", lambda x: x), ActFunc("negative", np.negative),
    ActFunc("ceil", np.ceil), ActFunc("floor", np.floor), ActFunc("trunc", np.trunc),
    ActFunc("logistic", _sigmoid), ActFunc("exp_inv", _quiet(lambda x: np.exp(-x))), ActFunc("tan", np.tan),
]}


def alu(op) -> AluOp:
    """Resolve an ``op=`` argument (an nl function object or its name)."""
    if isinstance(op, AluOp):
        return op
    if isinstance(op, ActFunc) and op.name in ALU_OPS:
        return ALU_OPS[op.name]
    name = getattr(op, "name", None) or getattr(op, "__name__", op)  # nl.add / np.add are plain functions
    if isinstance(name, str) and name in ALU_OPS:
        return ALU_OPS[name]
    from autocomp.nki.errors import raise_error

    raise_error("err_invalid_argument",
                f"{op!r} is not an ALU operator; use one of nl.add, nl.subtract, nl.multiply, nl.maximum, ...")


def act(op) -> ActFunc:
    """Resolve an activation ``op=`` argument."""
    if isinstance(op, ActFunc):
        return op
    name = getattr(op, "name", None) or getattr(op, "__name__", op)  # nl.add / np.add are plain functions
    if isinstance(name, str) and name in ACT_FUNCS:
        return ACT_FUNCS[name]
    from autocomp.nki.errors import raise_error

    raise_error("err_invalid_argument",
                f"{op!r} is not an activation function; use one of nl.exp, nl.tanh, nl.silu, nl.copy, ...")
