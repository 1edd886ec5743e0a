"""``neuronxcc.nki.language`` (the v1 dialect): every call returns a fresh tile.

The names below are the module's API, and ``install`` exposes exactly ``__all__``.
Tensor creation, loops, HBM transfers and cross-iteration reductions are the v1
dialect's own (this package); the element-wise, reduction, matmul, select and
composite calls are shared with the v2 dialect (``autocomp.nki.functional``).
"""

from __future__ import annotations

from autocomp.nki.dtypes import (
    bfloat16,
    bool_,
    float8_e4m3,
    float8_e4m3fn,
    float8_e5m2,
    float16,
    float32,
    int8,
    int16,
    int32,
    tfloat32,
    uint8,
    uint16,
    uint32,
)
from autocomp.nki.functional import operators as _operators  # noqa: F401 - binds Python operators on tiles
from autocomp.nki.functional.constants import finfo, shared_constant, shared_identity_matrix, static_cast
from autocomp.nki.functional.elementwise import (
    abs,
    abs_max,
    add,
    arctan,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    ceil,
    cos,
    divide,
    equal,
    erf,
    erf_dx,
    exp,
    exp_inv,
    floor,
    fmod,
    gelu,
    gelu_apprx_sigmoid,
    gelu_apprx_tanh,
    gelu_dx,
    greater,
    greater_equal,
    identity,
    invert,
    left_shift,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logistic,
    maximum,
    minimum,
    mish,
    mod,
    multiply,
    negative,
    not_equal,
    power,
    reciprocal,
    relu,
    right_shift,
    rsqrt,
    sigmoid,
    sign,
    silu,
    silu_dx,
    sin,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
)
from autocomp.nki.functional.movement import copy, load_transpose2d
from autocomp.nki.functional.normalization import rms_norm, softmax, var
from autocomp.nki.functional.random import dropout, rand, random_seed
from autocomp.nki.functional.reductions import all, any, max, mean, min, prod, sum
from autocomp.nki.functional.selection import gather_flattened, where
from autocomp.nki.functional.shaping import expand_dims
from autocomp.nki.indexing import Mask, arange, ds, mgrid
from autocomp.nki.targets_info import TileSize, bfp16, fp32
from autocomp.nki.v1.language.collectives import all_reduce, atomic_rmw, loop_reduce
from autocomp.nki.v1.language.creation import empty_like, full, full_like, ndarray, ones, ones_like, zeros, zeros_like
from autocomp.nki.v1.language.loops import (
    affine_range,
    device_print,
    nc,
    num_programs,
    program_id,
    program_ndim,
    sequential_range,
    spmd_dim,
    static_range,
)
from autocomp.nki.v1.language.memory import hbm, par_dim, private_hbm, psum, sbuf, shared_hbm
from autocomp.nki.v1.language.shaping import broadcast_to
from autocomp.nki.v1.language.tensor_engine import matmul, transpose
from autocomp.nki.v1.language.transfers import load, store
from autocomp.nki.v1.top import STATE as _STATE

tile_size = TileSize(_STATE)  # limits of the running kernel's target, else of this frontend's default

__all__ = [
    # dtypes
    "bfloat16", "bool_", "float8_e4m3", "float8_e4m3fn", "float8_e5m2", "float16", "float32", "int8", "int16",
    "int32", "tfloat32", "uint8", "uint16", "uint32",
    # memory, tensor creation and constants
    "sbuf", "psum", "hbm", "private_hbm", "shared_hbm", "par_dim", "ndarray", "zeros", "ones", "full", "zeros_like",
    "ones_like", "full_like", "empty_like", "shared_constant", "shared_identity_matrix", "static_cast",
    "tile_size", "fp32", "bfp16", "finfo",
    # indexing, loops and the SPMD grid
    "arange", "mgrid", "ds", "Mask", "affine_range", "sequential_range", "static_range", "program_id",
    "num_programs", "program_ndim", "device_print", "nc", "spmd_dim",
    # data movement
    "load", "store", "load_transpose2d", "copy", "broadcast_to", "expand_dims", "atomic_rmw", "gather_flattened",
    # element-wise binary operators
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "mod", "fmod", "abs_max", "equal",
    "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    # element-wise unary functions
    "exp", "exp_inv", "log", "sqrt", "rsqrt", "reciprocal", "square", "tanh", "sigmoid", "logistic", "relu",
    "silu", "silu_dx", "gelu", "gelu_dx", "gelu_apprx_tanh", "gelu_apprx_sigmoid",
    "softplus", "mish", "erf", "erf_dx", "sin", "cos",
    "tan", "arctan", "abs", "sign", "identity", "ceil", "floor", "trunc", "negative", "invert", "logical_not",
    # reductions, matmul, selects and composites
    "sum", "max", "min", "prod", "mean", "all", "any", "loop_reduce", "all_reduce", "matmul", "transpose", "where",
    "softmax", "rms_norm", "var",
    # random numbers
    "random_seed", "rand", "dropout",
]
