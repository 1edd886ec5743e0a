"""``nki.isa`` (the v2 dialect): every instruction writes the ``dst`` given first and returns None.

Each wrapper checks the v2 dialect's rules (enum members, known keywords, a
destination) and calls the dialect-free core op (``autocomp.nki.ops``), so the
trace holds the same instructions as the v1 dialect's. ``install`` exposes
exactly ``__all__``.
"""

from __future__ import annotations

from autocomp.nki.errors import NkiError
from autocomp.nki.v2.calls import NkiInstruction
from autocomp.nki.v2.control import VirtualRegister, register_alloc, register_load, register_move, register_store
from autocomp.nki.v2.enums import (
    dge_mode,
    dma_engine,
    engine,
    get_nc_sub_version,
    get_nc_version,
    gpsimd_engine,
    matmul_perf_mode,
    nc_version,
    oob_mode,
    reduce_cmd,
    scalar_engine,
    sync_engine,
    tensor_engine,
    unknown_engine,
    vector_engine,
)
from autocomp.nki.v2.isa.activations import activate2, activation, activation_reduce, exponential
from autocomp.nki.v2.isa.cores import core_barrier, sendrecv
from autocomp.nki.v2.isa.elementwise import (
    memset,
    reciprocal,
    scalar_tensor_tensor,
    tensor_copy,
    tensor_reduce,
    tensor_scalar,
    tensor_tensor,
)
from autocomp.nki.v2.isa.gpsimd import (
    affine_select,
    iota,
    local_gather,
    nc_n_gather,
    nonzero_with_count,
    sequence_bounds,
    tensor_partition_reduce,
    topk,
)
from autocomp.nki.v2.isa.matmul import nc_matmul, nc_transpose
from autocomp.nki.v2.isa.movement import dma_compute, dma_copy, dma_transpose, nc_stream_shuffle
from autocomp.nki.v2.isa.mx import nc_matmul_mx, quantize_mx
from autocomp.nki.v2.isa.random import dropout, rand2, rand_get_state, rand_set_state, rng, set_rng_seed
from autocomp.nki.v2.isa.search import max8, nc_find_index8, nc_match_replace8
from autocomp.nki.v2.isa.selects import range_select, select_reduce, tensor_copy_predicated
from autocomp.nki.v2.isa.statistics import (
    bn_aggr,
    bn_stats,
    tensor_scalar_cumulative,
    tensor_scalar_reduce,
    tensor_tensor_scan,
)
from autocomp.nki.v2.scalars import NkiScalar, scalar_load, scalar_store

NkiValidationError = NkiError

__all__ = [
    # enumerations, versions and errors
    "engine", "tensor_engine", "vector_engine", "scalar_engine", "gpsimd_engine", "sync_engine", "unknown_engine",
    "dma_engine", "reduce_cmd", "oob_mode", "dge_mode", "matmul_perf_mode", "nc_version", "get_nc_version",
    "get_nc_sub_version", "NkiValidationError", "NkiInstruction",
    # Tensor engine
    "nc_matmul", "nc_transpose", "nc_matmul_mx",
    # Vector, Scalar and GpSimd element-wise
    "tensor_tensor", "tensor_scalar", "scalar_tensor_tensor", "tensor_reduce", "tensor_copy", "memset",
    "reciprocal", "activation", "activation_reduce", "activate2", "exponential", "quantize_mx",
    # data movement
    "dma_copy", "dma_transpose", "dma_compute", "nc_stream_shuffle",
    # GpSimd engine
    "iota", "affine_select", "tensor_partition_reduce", "local_gather", "nc_n_gather", "sequence_bounds",
    "nonzero_with_count", "topk",
    # Vector engine: scans, statistics, selects, searches
    "tensor_tensor_scan", "tensor_scalar_cumulative", "bn_stats", "bn_aggr", "tensor_scalar_reduce",
    "select_reduce", "range_select",
    "tensor_copy_predicated", "max8", "nc_find_index8", "nc_match_replace8",
    # random numbers
    "dropout", "rng", "rand2", "set_rng_seed", "rand_set_state", "rand_get_state",
    # the two logical cores of kernel[2]
    "core_barrier", "sendrecv",
    # registers
    "VirtualRegister", "register_alloc", "register_load", "register_move", "register_store",
    # run-time scalars (NKI 0.7)
    "NkiScalar", "scalar_load", "scalar_store",
]
