"""``neuronxcc.nki.isa`` (the v1 dialect): functional ISA calls that return fresh tiles.

Each wrapper allocates its result tile (SBUF, or PSUM for Tensor-engine results)
and calls the dialect-free core op (``autocomp.nki.ops``), so the trace holds the
same instructions as the v2 dialect's. ``install`` exposes exactly ``__all__``.
"""

from __future__ import annotations

from autocomp.nki.targets_info import fp32
from autocomp.nki.v1.isa.compute import (
    activation,
    activation_reduce,
    memset,
    nc_matmul,
    nc_transpose,
    reciprocal,
    scalar_tensor_tensor,
    tensor_copy,
    tensor_reduce,
    tensor_scalar,
    tensor_tensor,
)
from autocomp.nki.v1.isa.enums import (
    dge_mode,
    engine,
    get_nc_version,
    gpsimd_engine,
    nc_version,
    oob_mode,
    reduce_cmd,
    scalar_engine,
    sync_engine,
    tensor_engine,
    unknown_engine,
    vector_engine,
)
from autocomp.nki.v1.isa.gpsimd import affine_select, iota, local_gather, sequence_bounds, tensor_partition_reduce
from autocomp.nki.v1.isa.movement import (
    dma_copy,
    dma_transpose,
    nc_stream_shuffle,
    tensor_copy_dynamic_dst,
    tensor_copy_dynamic_src,
)
from autocomp.nki.v1.isa.search import max8, nc_find_index8, nc_match_replace8
from autocomp.nki.v1.isa.selects import dropout, range_select, select_reduce, tensor_copy_predicated
from autocomp.nki.v1.isa.statistics import (
    bn_aggr,
    bn_stats,
    tensor_scalar_cumulative,
    tensor_scalar_reduce,
    tensor_tensor_scan,
)

__all__ = [
    # enumerations
    "engine", "tensor_engine", "vector_engine", "scalar_engine", "gpsimd_engine", "sync_engine", "unknown_engine",
    "reduce_cmd", "oob_mode", "dge_mode", "nc_version", "get_nc_version", "fp32",
    # Tensor, Scalar and Vector engine compute
    "nc_matmul", "nc_transpose", "activation", "activation_reduce", "tensor_tensor", "tensor_scalar",
    "scalar_tensor_tensor", "tensor_reduce", "tensor_copy", "memset", "reciprocal",
    # data movement
    "dma_copy", "dma_transpose", "tensor_copy_dynamic_src", "tensor_copy_dynamic_dst", "nc_stream_shuffle",
    # GpSimd engine
    "iota", "affine_select", "tensor_partition_reduce", "local_gather", "sequence_bounds",
    # Vector engine: scans, statistics, searches, selects, dropout
    "tensor_tensor_scan", "tensor_scalar_cumulative", "tensor_scalar_reduce", "bn_stats", "bn_aggr", "max8",
    "nc_find_index8",
    "nc_match_replace8", "select_reduce", "range_select", "tensor_copy_predicated", "dropout",
]
