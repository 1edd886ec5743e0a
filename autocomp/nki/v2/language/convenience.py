"""The v2 dialect's convenience compute (experimental in nki 0.3): each call allocates its result.

These are the calls the v1 dialect's ``nl.*`` functions are made of
(``autocomp.nki.functional``), with each result returned as an ``NkiTensor``:
element-wise operators and activations, reductions, matmul and transpose,
selects, broadcasts, the composite softmax / rms_norm / var, random numbers,
and ``nl.copy`` / ``nl.load_transpose2d``.
"""

from __future__ import annotations

import functools

from autocomp.nki.alu import ALU_OPS
from autocomp.nki.functional import elementwise as _ew
from autocomp.nki.functional import matmul as _mm
from autocomp.nki.functional import movement as _move
from autocomp.nki.functional import normalization as _norm
from autocomp.nki.functional import random as _random
from autocomp.nki.functional import reductions as _red
from autocomp.nki.functional import selection as _sel
from autocomp.nki.functional import shaping as _shape
from autocomp.nki.functional.constants import static_cast  # noqa: F401 - nki.language name
from autocomp.nki.functional.random import random_seed  # noqa: F401 - nki.language name
from autocomp.nki.v2.views import as_tensor

bypass = ALU_OPS["bypass"]


def _tensorize(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        return as_tensor(out)
    return call


# Element-wise binary operators (Vector engine).
add, subtract, multiply, divide = map(_tensorize, (_ew.add, _ew.subtract, _ew.multiply, _ew.divide))
maximum, minimum, power, mod, fmod = map(_tensorize, (_ew.maximum, _ew.minimum, _ew.power, _ew.mod, _ew.fmod))
abs_max = _tensorize(_ew.abs_max)
equal, not_equal = map(_tensorize, (_ew.equal, _ew.not_equal))
greater, greater_equal, less, less_equal = map(_tensorize, (_ew.greater, _ew.greater_equal, _ew.less,
                                                            _ew.less_equal))
logical_and, logical_or, logical_xor = map(_tensorize, (_ew.logical_and, _ew.logical_or, _ew.logical_xor))
bitwise_and, bitwise_or, bitwise_xor = map(_tensorize, (_ew.bitwise_and, _ew.bitwise_or, _ew.bitwise_xor))
left_shift, right_shift = map(_tensorize, (_ew.left_shift, _ew.right_shift))
negative, invert, logical_not = map(_tensorize, (_ew.negative, _ew.invert, _ew.logical_not))

# Activation functions (Scalar engine).
exp, exp_inv, log, sqrt, rsqrt = map(_tensorize, (_ew.exp, _ew.exp_inv, _ew.log, _ew.sqrt, _ew.rsqrt))
reciprocal, square, tanh = map(_tensorize, (_ew.reciprocal, _ew.square, _ew.tanh))
sigmoid, logistic, relu, silu, silu_dx = map(_tensorize, (_ew.sigmoid, _ew.logistic, _ew.relu, _ew.silu,
                                                          _ew.silu_dx))
gelu, gelu_dx, gelu_apprx_tanh = map(_tensorize, (_ew.gelu, _ew.gelu_dx, _ew.gelu_apprx_tanh))
softplus, mish, erf, erf_dx = map(_tensorize, (_ew.softplus, _ew.mish, _ew.erf, _ew.erf_dx))
sin, cos, tan, arctan = map(_tensorize, (_ew.sin, _ew.cos, _ew.tan, _ew.arctan))
abs, sign, identity = map(_tensorize, (_ew.abs, _ew.sign, _ew.identity))  # noqa: A001 - NKI's name
ceil, floor, trunc = map(_tensorize, (_ew.ceil, _ew.floor, _ew.trunc))

# Reductions along free axes (Vector engine).
sum, max, min, prod, mean = map(_tensorize, (_red.sum, _red.max, _red.min, _red.prod, _red.mean))  # noqa: A001
all, any = map(_tensorize, (_red.all, _red.any))  # noqa: A001

# Matmul, selects, broadcasts, copies, composites and random numbers.
matmul, transpose = map(_tensorize, (_mm.matmul, _mm.transpose))
where = _tensorize(_sel.where)
broadcast_to, expand_dims = map(_tensorize, (_shape.broadcast_to, _shape.expand_dims))
copy, load_transpose2d = map(_tensorize, (_move.copy, _move.load_transpose2d))
softmax, rms_norm, var = map(_tensorize, (_norm.softmax, _norm.rms_norm, _norm.var))
rand, dropout = map(_tensorize, (_random.rand, _random.dropout))
