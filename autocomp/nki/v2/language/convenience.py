"""The v2 dialect's convenience compute (experimental in nki 0.3): each call allocates its result.

These are the calls the v1 dialect's ``nl.*`` functions are made of
(``autocomp.nki.functional``), with each result returned as an ``NkiTensor``:
element-wise operators and activations, reductions, matmul and transpose,
selects and gathers, broadcasts, the composite softmax / rms_norm / var, random
numbers, and ``nl.copy`` / ``nl.load_transpose2d``.

Each function has the current dialect's documented signature: ``dtype`` (and
``keepdims``) may be passed by position, and there is no ``mask`` (an unknown
keyword is err_unexpected_keyword, as for ISA calls).
"""

from __future__ import annotations

from autocomp.nki.alu import ACT_FUNCS, ALU_OPS
from autocomp.nki.errors import raise_error as _raise
from autocomp.nki.functional import elementwise as _ew
from autocomp.nki.functional import matmul as _mm
from autocomp.nki.functional import movement as _move
from autocomp.nki.functional import normalization as _norm
from autocomp.nki.functional import random as _random
from autocomp.nki.functional import reductions as _red
from autocomp.nki.functional import selection as _sel
from autocomp.nki.functional import shaping as _shape
from autocomp.nki.functional.constants import static_cast  # noqa: F401 - nki.language name
from autocomp.nki.ops import rng as _rng
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.ops.common import require_nc as _require_nc
from autocomp.nki.trace import HBM
from autocomp.nki.v2.calls import isa_call
from autocomp.nki.v2.language.memory import allocate as _allocate
from autocomp.nki.v2.language.memory import buffer_kind as _buffer_kind
from autocomp.nki.v2.language.memory import sbuf as _sbuf
from autocomp.nki.v2.views import as_tensor

bypass = ALU_OPS["bypass"]
prelu = ACT_FUNCS["prelu"]  # an activation ``op`` whose negative slope is activate2's relu_param

_nl = isa_call("nl")


def _api(fn, impl):
    """``fn`` as the nl function named like ``impl`` (ALU and activation ``op=`` arguments resolve by name)."""
    fn.__name__ = fn.__qualname__ = impl.__name__
    fn.__doc__ = impl.__doc__
    return _nl(fn)


def _binary(impl):
    def fn(x, y, dtype=None):
        return as_tensor(impl(x, y, dtype=dtype))
    return _api(fn, impl)


def _unary(impl):
    def fn(x, dtype=None):
        return as_tensor(impl(x, dtype=dtype))
    return _api(fn, impl)


def _reduction(impl):
    def fn(x, axis, dtype=None, keepdims=False):
        return as_tensor(impl(x, axis, dtype=dtype, keepdims=keepdims))
    return _api(fn, impl)


# Element-wise binary operators (Vector engine).
add, subtract, multiply, divide = map(_binary, (_ew.add, _ew.subtract, _ew.multiply, _ew.divide))
maximum, minimum, power, mod, fmod = map(_binary, (_ew.maximum, _ew.minimum, _ew.power, _ew.mod, _ew.fmod))
abs_max = _binary(_ew.abs_max)
equal, not_equal = map(_binary, (_ew.equal, _ew.not_equal))
greater, greater_equal, less, less_equal = map(_binary, (_ew.greater, _ew.greater_equal, _ew.less, _ew.less_equal))
logical_and, logical_or, logical_xor = map(_binary, (_ew.logical_and, _ew.logical_or, _ew.logical_xor))
bitwise_and, bitwise_or, bitwise_xor = map(_binary, (_ew.bitwise_and, _ew.bitwise_or, _ew.bitwise_xor))
left_shift, right_shift = map(_binary, (_ew.left_shift, _ew.right_shift))
negative, invert = map(_unary, (_ew.negative, _ew.invert))


@_nl
def abs_min(x, y, dtype=None):
    """The operand of smaller magnitude, keeping its sign (a tie gives ``y``); NeuronCore-v4 (trn3) and newer."""
    _require_nc(4, "nl.abs_min")
    return as_tensor(_ew.abs_min(x, y, dtype=dtype))


@_nl
def logical_not(x, dtype=None):
    """Element-wise NOT (a uint8 0/1 tile unless dtype says otherwise)."""
    return as_tensor(_ew.logical_not(x, dtype=dtype))


# Activation functions (Scalar engine).
exp, exp_inv, log, sqrt, rsqrt = map(_unary, (_ew.exp, _ew.exp_inv, _ew.log, _ew.sqrt, _ew.rsqrt))
reciprocal, square, tanh = map(_unary, (_ew.reciprocal, _ew.square, _ew.tanh))
sigmoid, logistic, relu, silu, silu_dx = map(_unary, (_ew.sigmoid, _ew.logistic, _ew.relu, _ew.silu, _ew.silu_dx))
gelu, gelu_dx, gelu_apprx_tanh = map(_unary, (_ew.gelu, _ew.gelu_dx, _ew.gelu_apprx_tanh))
gelu_apprx_sigmoid, gelu_apprx_sigmoid_dx = map(_unary, (_ew.gelu_apprx_sigmoid, _ew.gelu_apprx_sigmoid_dx))
softplus, mish, erf, erf_dx = map(_unary, (_ew.softplus, _ew.mish, _ew.erf, _ew.erf_dx))
sin, cos, tan, arctan = map(_unary, (_ew.sin, _ew.cos, _ew.tan, _ew.arctan))
abs, sign, identity = map(_unary, (_ew.abs, _ew.sign, _ew.identity))  # noqa: A001 - NKI's name
ceil, floor, trunc = map(_unary, (_ew.ceil, _ew.floor, _ew.trunc))

# Reductions along free axes (Vector engine).
sum, max, min, prod, mean = map(_reduction, (_red.sum, _red.max, _red.min, _red.prod, _red.mean))  # noqa: A001


@_nl
def all(x, axis, dtype=None):  # noqa: A001 - NKI's name
    """Logical AND along the free axes ``axis`` (a uint8 0/1 tile unless dtype says otherwise)."""
    return as_tensor(_red.all(x, axis, dtype=dtype))


any = _reduction(_red.any)  # noqa: A001 - an extension of ours, kept for kernels that use it


@_nl
def var(x, axis, dtype=None, keepdims=False):
    """Population variance along ``axis`` (keepdims is accepted and, as documented, ignored)."""
    return as_tensor(_norm.var(x, axis, dtype=dtype))


@_nl
def matmul(x, y, transpose_x=False):
    """``x @ y`` into a new PSUM tile (x [M, K] is transposed on the Tensor engine unless transpose_x)."""
    return as_tensor(_mm.matmul(x, y, transpose_x=transpose_x))


transpose = _unary(_mm.transpose)


@_nl
def where(condition, x, y, dtype=None):
    """Elements of ``x`` where ``condition`` is non-zero, else of ``y``: a Vector-engine select."""
    return as_tensor(_sel.where(condition, x, y, dtype=dtype))


@_nl
def gather_flattened(data, indices, axis=0, dtype=None):
    """Per partition, ``data``'s elements (free dimensions flattened) at the uint32 ``indices``."""
    if axis != 0:
        _raise("err_unsupported_operation",
               f"nl.gather_flattened(axis={axis!r}): the gather indexes data's flattened free dimensions within "
               "each partition; only the documented default axis=0 is simulated")
    return as_tensor(_sel.gather_flattened(data, indices, dtype=dtype))


@_nl
def broadcast_to(x, shape, dtype=None):
    """A new tile of ``shape`` repeating ``x`` along its size-1 dimensions (cast to dtype if given)."""
    return as_tensor(_shape.broadcast_to(x, shape, dtype=dtype))


@_nl
def expand_dims(x, axis):
    """A view of ``x`` with a size-1 dimension at position ``axis`` (or one at each of several axes, in increasing
    order); no instruction. On-chip tensors keep the partition dimension first."""
    t = as_tensor(_operand(x, "nl.expand_dims", "x"))
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    ndim = len(t.shape) + len(axes)
    for a in sorted(int(a) + ndim if int(a) < 0 else int(a) for a in axes):
        t = t.expand_dim(a)
    return t


@_nl
def copy(x, dtype=None):
    """A new SBUF tile holding ``x`` (cast to dtype if given)."""
    return as_tensor(_move.copy(x, dtype=dtype))


@_nl
def load_transpose2d(src, dtype=None):
    """HBM [F, P] -> SBUF [P, F] through a transposing DMA."""
    return as_tensor(_move.load_transpose2d(src, dtype=dtype))


@_nl
def softmax(x, axis=-1, dtype=None):
    """``exp(x - max) / sum(exp(x - max))`` along the trailing free axes ``axis``."""
    return as_tensor(_norm.softmax(x, axis, dtype=dtype))


@_nl
def rms_norm(x, w, axis, n, epsilon=1e-06, dtype=None, compute_dtype=None):
    """``x / sqrt(sum(x^2) / n + epsilon) * w`` along ``axis``."""
    return as_tensor(_norm.rms_norm(x, w, axis, n, epsilon, dtype=dtype, compute_dtype=compute_dtype))


@_nl
def dropout(x, rate, dtype=None):
    """Zero elements of ``x`` with probability ``rate``."""
    return as_tensor(_random.dropout(x, rate, dtype=dtype))


@_nl
def rand(shape, dtype, buffer=_sbuf, name=""):
    """A new on-chip tensor of values drawn uniformly from [0, 1)."""
    api = "nl.rand"
    if buffer is _sbuf and not name:
        return as_tensor(_random.rand(shape, dtype))
    kind, _ = _buffer_kind(buffer, api)
    if kind == HBM:
        _raise("err_unsupported_memory", f"{api}: random values are generated on chip; use buffer=nl.sbuf or "
                                         "nl.psum and nisa.dma_copy the tensor to HBM")
    out = _allocate(shape, dtype, buffer, name, None, api)
    _rng.uniform(out, api)
    return out


@_nl
def random_seed(seed):
    """Seed the random number generator used by nl.rand and nl.dropout."""
    _random.random_seed(seed)
