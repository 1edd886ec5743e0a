"""Element-wise calls that return a new SBUF tile: ``nl.add``, ``nl.exp``, ``nl.negative``, ...

A binary call is one Vector-engine tensor_tensor for two tiles, or a tensor_scalar
for a scalar or a ``[P, 1]`` operand; an activation is one Scalar-engine
instruction. nl.* calls broadcast a 1-partition operand along the partitions;
Python operators on tiles (``operators.py``) cannot [KI1].
"""

from __future__ import annotations

import builtins

from autocomp.nki import alu as _alu
from autocomp.nki import dtypes as _dt
from autocomp.nki.alu import ACT_FUNCS, ALU_OPS, AluOp
from autocomp.nki.dtypes import bool_, float32, uint8
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.indexing import check_mask
from autocomp.nki.ops import elementwise as _ew
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF


def _is_scalar_tile(x) -> bool:
    return isinstance(x, Tile) and _free_size(x) == 1


def _per_partition(a, b) -> bool:
    """``a`` is a [P, 1] tile that the wider tile ``b`` (same P) can take as a tensor_scalar operand."""
    return _is_scalar_tile(a) and isinstance(b, Tile) and not _is_scalar_tile(b) and a.shape[0] == b.shape[0]


def binary(x, y, op: AluOp, *, dtype=None, mask=None, dst: Tile | None = None, operator: bool = False,
           **kwargs) -> Tile:
    """``op(x, y)``: tensor_tensor for two tiles, tensor_scalar for a scalar or [P, 1] operand.

    nl.* calls broadcast a 1-partition operand along the partitions; Python operators cannot [KI1].
    """
    api = f"nl.{op.name}"
    mask = check_mask(mask)
    if dtype is bool:
        dtype = None  # the legacy dialect's documented default of comparisons: the same bool result as None
    xs, ys = not isinstance(x, Tile), not isinstance(y, Tile)
    if xs and ys:
        raise_error("err_invalid_argument", f"{api} needs at least one tile operand")
    if xs or ys or _per_partition(y, x) or _per_partition(x, y):
        reverse = xs or _per_partition(x, y)
        data, scalar = (y, x) if reverse else (x, y)
        data = _operand(data, api, "x")
        out_dtype = dtype or (data.dtype if not isinstance(scalar, Tile) else _dt.promote(data.dtype, scalar.dtype))
        if op.compare and dtype is None:
            out_dtype = bool_  # comparisons default to dtype=bool [LANG1]
        if scalar is not None and not isinstance(scalar, Tile) and not _dt.is_float(data.dtype) and dtype is None \
                and isinstance(scalar, float):
            out_dtype = float32
        out = dst if dst is not None else _new_tile(data.shape, out_dtype, SBUF)
        _ew.tensor_scalar(out, data, op, scalar, api, reverse0=reverse, mask=mask)
        return out
    x, y = _operand(x, api, "x"), _operand(y, api, "y")
    out_shape = x.shape if _free_size(x) >= _free_size(y) else y.shape
    if x.shape[0] != y.shape[0]:
        if operator or 1 not in (x.shape[0], y.shape[0]):
            raise_error("err_num_partition_mismatch",
                        f"{api}: operands have {x.shape[0]} and {y.shape[0]} partitions; Python operators cannot "
                        "broadcast along partitions: call nl.add / nl.multiply / ... or nl.broadcast_to instead")
        out_shape = (builtins.max(x.shape[0], y.shape[0]),) + tuple(out_shape[1:])
    out_dtype = dtype or (bool_ if op.compare else _dt.promote(x.dtype, y.dtype))
    out = dst if dst is not None else _new_tile(out_shape, out_dtype, SBUF)
    _ew.tensor_tensor(out, x, y, op, api, mask=mask)
    return out


def _make_binary(op: AluOp):
    """``nl.<op>(x, y, *, dtype=None, mask=None)``; comparisons and logical operators default to dtype=bool
    (the legacy dialect's signature; their result is bool either way)."""
    if op.compare:
        def fn(x, y, *, dtype=bool, mask=None, **kwargs):
            return binary(x, y, op, dtype=dtype, mask=mask)
    else:
        def fn(x, y, *, dtype=None, mask=None, **kwargs):
            return binary(x, y, op, dtype=dtype, mask=mask)
    fn.__name__ = fn.__qualname__ = op.name
    _alu.bind(op.name, fn)
    return fn


def _make_positional_binary(op: AluOp):
    """``nl.mod`` / ``nl.fmod``: the legacy dialect documents dtype and mask as positional parameters."""
    def fn(x, y, dtype=None, mask=None, **kwargs):
        return binary(x, y, op, dtype=dtype, mask=mask)
    fn.__name__ = fn.__qualname__ = op.name
    _alu.bind(op.name, fn)
    return fn


def activation_call(func, x, *, dtype=None, mask=None, bias=None, scale=1.0, **kwargs) -> Tile:
    api = f"nl.{func.name}"
    mask = check_mask(mask)
    x = _operand(x, api, "x")
    out = _new_tile(x.shape, dtype or x.dtype, SBUF)
    _ew.activation(out, func, x, api, bias=bias, scale=scale, mask=mask)
    return out


def _make_activation(func):
    def fn(x, *, dtype=None, mask=None, **kwargs):
        return activation_call(func, x, dtype=dtype, mask=mask)
    fn.__name__ = func.name
    _alu.bind(func.name, fn)
    return fn


# ---------------------------------------------------------------- binary operators (Vector engine)

add = _make_binary(ALU_OPS["add"])
subtract = _make_binary(ALU_OPS["subtract"])
multiply = _make_binary(ALU_OPS["multiply"])
divide = _make_binary(ALU_OPS["divide"])
maximum = _make_binary(ALU_OPS["maximum"])
minimum = _make_binary(ALU_OPS["minimum"])
power = _make_binary(ALU_OPS["power"])
mod = _make_positional_binary(ALU_OPS["mod"])
fmod = _make_positional_binary(ALU_OPS["fmod"])
abs_max = _make_binary(ALU_OPS["abs_max"])
abs_min = _make_binary(ALU_OPS["abs_min"])
equal = _make_binary(ALU_OPS["equal"])
not_equal = _make_binary(ALU_OPS["not_equal"])
greater = _make_binary(ALU_OPS["greater"])
greater_equal = _make_binary(ALU_OPS["greater_equal"])
less = _make_binary(ALU_OPS["less"])
less_equal = _make_binary(ALU_OPS["less_equal"])
logical_and = _make_binary(ALU_OPS["logical_and"])
logical_or = _make_binary(ALU_OPS["logical_or"])
logical_xor = _make_binary(ALU_OPS["logical_xor"])
bitwise_and = _make_binary(ALU_OPS["bitwise_and"])
bitwise_or = _make_binary(ALU_OPS["bitwise_or"])
bitwise_xor = _make_binary(ALU_OPS["bitwise_xor"])
left_shift = _make_binary(ALU_OPS["left_shift"])
right_shift = _make_binary(ALU_OPS["right_shift"])

# ---------------------------------------------------------------- activation functions (Scalar engine)

exp = _make_activation(ACT_FUNCS["exp"])
exp_inv = _make_activation(ACT_FUNCS["exp_inv"])
log = _make_activation(ACT_FUNCS["log"])
sqrt = _make_activation(ACT_FUNCS["sqrt"])
rsqrt = _make_activation(ACT_FUNCS["rsqrt"])
reciprocal = _make_activation(ACT_FUNCS["reciprocal"])
square = _make_activation(ACT_FUNCS["square"])
tanh = _make_activation(ACT_FUNCS["tanh"])
sigmoid = _make_activation(ACT_FUNCS["sigmoid"])
logistic = _make_activation(ACT_FUNCS["logistic"])
relu = _make_activation(ACT_FUNCS["relu"])
silu = _make_activation(ACT_FUNCS["silu"])
silu_dx = _make_activation(ACT_FUNCS["silu_dx"])
gelu = _make_activation(ACT_FUNCS["gelu"])
gelu_dx = _make_activation(ACT_FUNCS["gelu_dx"])
gelu_apprx_tanh = _make_activation(ACT_FUNCS["gelu_apprx_tanh"])
gelu_apprx_sigmoid = _make_activation(ACT_FUNCS["gelu_apprx_sigmoid"])
gelu_apprx_sigmoid_dx = _make_activation(ACT_FUNCS["gelu_apprx_sigmoid_dx"])
softplus = _make_activation(ACT_FUNCS["softplus"])
mish = _make_activation(ACT_FUNCS["mish"])
erf = _make_activation(ACT_FUNCS["erf"])
erf_dx = _make_activation(ACT_FUNCS["erf_dx"])
sin = _make_activation(ACT_FUNCS["sin"])
cos = _make_activation(ACT_FUNCS["cos"])
arctan = _make_activation(ACT_FUNCS["arctan"])
abs = _make_activation(ACT_FUNCS["abs"])  # noqa: A001 - NKI's name
sign = _make_activation(ACT_FUNCS["sign"])
identity = _make_activation(ACT_FUNCS["identity"])
ceil = _make_activation(ACT_FUNCS["ceil"])
floor = _make_activation(ACT_FUNCS["floor"])
trunc = _make_activation(ACT_FUNCS["trunc"])


def tan(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    """Tangent, element-wise, on the Scalar engine."""
    x = _operand(x, "nl.tan", "x")
    out = _new_tile(tuple(int(s) for s in x.shape), dtype or x.dtype, SBUF)
    _ew.activation(out, ACT_FUNCS["tan"], x, "nl.tan", mask=check_mask(mask))
    return out


# ---------------------------------------------------------------- unary operators


def negative(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    return binary(x, -1.0, ALU_OPS["multiply"], dtype=dtype or x.dtype, mask=mask)


def invert(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    if x.dtype == bool_:
        warn("nl.invert on a bool tile is known to give wrong results on hardware; use nl.logical_not",
             "warn_invert_bool")
    return binary(x, 0, ALU_OPS["invert"], dtype=dtype, mask=mask)


def logical_not(x, *, dtype=bool, mask=None, **kwargs) -> Tile:
    """Element-wise NOT; the default dtype=bool gives a uint8 0/1 tile (as it always has here)."""
    return binary(x, 0, ALU_OPS["logical_not"], dtype=uint8 if dtype in (None, bool) else dtype, mask=mask)


_alu.bind("negative", negative)
_alu.bind("invert", invert)
_alu.bind("logical_not", logical_not)
