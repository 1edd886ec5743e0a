"""``nki.language`` (the v2 dialect): tensors, buffers, dtypes, loops and convenience compute.

Tensors are ``NkiTensor`` views (``autocomp.nki.v2.views``). Buffers are
objects, never strings. The names below are the module's API, and ``install``
exposes exactly ``__all__``.
"""

from __future__ import annotations

from autocomp.nki.dtypes import (
    bfloat16,
    bool_,
    float4_e2m1fn_x4,
    float8_e4m3,
    float8_e4m3fn,
    float8_e4m3fn_x4,
    float8_e5m2,
    float8_e5m2_x4,
    float8_e8m0fnu,
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
from autocomp.nki.indexing import ds
from autocomp.nki.targets_info import TileSize, fp32
from autocomp.nki.v2.control import (
    VirtualRegister,
    dynamic_range,
    fori_loop,
    if_else,
    no_reorder,
    static_loop,
    while_loop,
)
from autocomp.nki.v2.grids import (
    NkiBlockGrid,
    NkiGrid,
    NkiTileGrid,
    alloc_blocks,
    alloc_tiles,
    blocks,
    tiles,
)
from autocomp.nki.v2.language.convenience import (
    abs,
    abs_max,
    abs_min,
    add,
    all,
    any,
    arctan,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    broadcast_to,
    bypass,
    ceil,
    copy,
    cos,
    divide,
    dropout,
    equal,
    erf,
    erf_dx,
    exp,
    exp_inv,
    expand_dims,
    floor,
    fmod,
    gather_flattened,
    gelu,
    gelu_apprx_sigmoid,
    gelu_apprx_sigmoid_dx,
    gelu_apprx_tanh,
    gelu_dx,
    greater,
    greater_equal,
    identity,
    invert,
    left_shift,
    less,
    less_equal,
    load_transpose2d,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logistic,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mish,
    mod,
    multiply,
    negative,
    not_equal,
    power,
    prelu,
    prod,
    rand,
    random_seed,
    reciprocal,
    relu,
    right_shift,
    rms_norm,
    rsqrt,
    sigmoid,
    sign,
    silu,
    silu_dx,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    static_cast,
    subtract,
    sum,
    tan,
    tanh,
    transpose,
    trunc,
    var,
    where,
)
from autocomp.nki.v2.language.creation import (
    empty_like,
    full,
    full_like,
    ndarray,
    ndarray_like,
    ones,
    ones_like,
    shared_constant,
    shared_identity_matrix,
    zeros,
    zeros_like,
)
from autocomp.nki.v2.language.loops import (
    affine_range,
    device_print,
    num_programs,
    program_id,
    program_ndim,
    sequential_range,
    static_range,
)
from autocomp.nki.v2.language.memory import (
    Buffer,
    MemoryRegion,
    hbm,
    is_hbm,
    is_on_chip,
    is_psum,
    is_sbuf,
    par_dim,
    private_hbm,
    psum,
    sbuf,
    shared_hbm,
)
from autocomp.nki.v2.language.transfers import load, store
from autocomp.nki.v2.top import STATE as _STATE
from autocomp.nki.v2.views import NkiTensor

tile_size = TileSize(_STATE)  # limits of the running kernel's target, else of this frontend's default


class NKIObject:
    """Base class of user classes passed into kernels (plain Python objects here)."""


__all__ = [
    # dtypes
    "bfloat16", "bool_", "float4_e2m1fn_x4", "float8_e4m3", "float8_e4m3fn", "float8_e4m3fn_x4", "float8_e5m2",
    "float8_e5m2_x4", "float8_e8m0fnu", "float16", "float32", "int8", "int16", "int32", "tfloat32", "uint8",
    "uint16", "uint32",
    # tensors, memory and creation
    "NkiTensor", "NKIObject", "Buffer", "MemoryRegion", "sbuf", "psum", "hbm", "private_hbm", "shared_hbm",
    "is_sbuf", "is_psum", "is_hbm", "is_on_chip", "par_dim", "ndarray",
    "zeros", "ones", "full", "ndarray_like", "empty_like", "zeros_like", "ones_like", "full_like",
    "shared_constant", "shared_identity_matrix", "static_cast", "tile_size", "fp32", "ds",
    # tile and block grids (nki 0.7)
    "NkiGrid", "NkiTileGrid", "NkiBlockGrid", "tiles", "blocks", "alloc_tiles", "alloc_blocks",
    # loops, registers and logical cores
    "affine_range", "sequential_range", "static_range", "static_loop", "dynamic_range", "fori_loop",
    "while_loop", "if_else", "no_reorder", "VirtualRegister", "program_id", "num_programs", "program_ndim",
    "device_print",
    # data movement
    "load", "store", "load_transpose2d", "copy", "broadcast_to", "expand_dims",
    # convenience compute: element-wise operators
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "mod", "fmod", "abs_max", "abs_min",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "negative", "invert",
    "logical_not", "bypass", "prelu",
    # convenience compute: activation functions
    "exp", "exp_inv", "log", "sqrt", "rsqrt", "reciprocal", "square", "tanh", "sigmoid", "logistic", "relu",
    "silu", "silu_dx", "gelu", "gelu_dx", "gelu_apprx_tanh", "gelu_apprx_sigmoid",
    "gelu_apprx_sigmoid_dx", "softplus", "mish", "erf", "erf_dx", "sin", "cos",
    "tan", "arctan", "abs", "sign", "identity", "ceil", "floor", "trunc",
    # convenience compute: reductions, matmul, selects, composites, random numbers
    "sum", "max", "min", "prod", "mean", "all", "any", "matmul", "transpose", "where", "gather_flattened",
    "softmax", "rms_norm", "var",
    "random_seed", "rand", "dropout",
]
