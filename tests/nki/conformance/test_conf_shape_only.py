"""Conformance: tracing shapes only (numerics=False) issues exactly the instructions of a numeric run.

The cost model and ``nki.benchmark`` placeholders rely on shape-only traces, so a
family whose instruction stream depends on whether values are computed would
give the cost model a different program than the one that was checked.
"""

import numpy as np
import pytest
from conformance import bf16, kernels, sample

from autocomp.nki import TensorSpec, run_kernel

F32 = np.float32

# (kernel file, kernel, argument (shape, dtype) list, SPMD grid)
FAMILIES = [
    ("matmul", "matmul_tiled", [((512, 256), bf16), ((512, 1024), bf16)], ()),
    ("matmul", "matmul_blocked", [((384, 512), F32), ((384, 1024), F32)], ()),
    ("matmul", "matmul_nc_transpose", [((256, 384), bf16), ((384, 512), bf16)], ()),
    ("matmul", "matmul_nl_transpose", [((256, 384), F32), ((384, 512), F32)], ()),
    ("matmul", "matmul_load_transpose2d", [((256, 384), F32), ((384, 512), F32)], ()),
    ("matmul", "matmul_nl_matmul", [((256, 256), bf16), ((256, 512), bf16)], ()),
    ("matmul", "matmul_transposed_rhs", [((256, 256), F32), ((384, 256), F32)], ()),
    ("norms", "rmsnorm", [((300, 512), F32), ((1, 512), F32)], ()),
    ("norms", "layernorm", [((256, 1024), bf16), ((1, 1024), bf16), ((1, 1024), bf16)], ()),
    ("norms", "layernorm_bn", [((256, 1024), F32), ((1, 1024), F32), ((1, 1024), F32)], ()),
    ("softmax", "softmax_language", [((256, 512), F32)], ()),
    ("softmax", "softmax_isa", [((256, 512), bf16)], ()),
    ("softmax", "softmax_ragged", [((200, 300), F32)], ()),
    ("attention", "attention", [((64, 256), bf16), ((64, 256), bf16), ((256, 64), bf16)], ()),
    ("attention", "causal_attention", [((64, 256), F32), ((64, 256), F32), ((256, 64), F32)], ()),
    ("sequence", "selective_scan",
     [((128, 256), F32), ((128, 256), F32), ((128, 4), F32), ((4, 256), F32), ((4, 256), F32)], ()),
    ("sequence", "cumsum_free", [((256, 512), F32)], ()),
    ("sequence", "cumsum_rows", [((384, 256), bf16)], ()),
    ("sequence", "depthwise_conv1d_causal", [((256, 384), F32), ((256, 4), F32)], ()),
    ("layout", "rope", [((256, 128), F32), ((256, 64), F32), ((256, 64), F32)], ()),
    ("layout", "transpose_last_two", [((2, 256, 384), bf16)], ()),
    ("layout", "transpose_last_two_vector", [((3, 32, 96), F32)], ()),
    ("layout", "swap_outer_axes", [((96, 5, 200), F32)], ()),
    ("layout", "maxpool2x2", [((256, 32, 48), F32)], ()),
    ("layout", "maxpool3x3_same", [((128, 20, 24), bf16)], ()),
    ("grid", "spmd_scaled_add", [((512, 1024), F32), ((512, 1024), F32)], (2, 2)),
    ("grid", "spmd_matmul", [((256, 256), bf16), ((256, 1024), bf16)], (2, 2)),
    ("grid", "masked_gelu_bias", [((300, 700), F32), ((1, 700), F32)], ()),
    ("grid", "masked_matmul", [((200, 300), F32), ((300, 600), F32)], ()),
    ("allocation", "residual_gelu", [((512, 512), bf16), ((512, 512), bf16)], ()),
    ("broadcast", "broadcast_forms", [((128, 512), bf16), ((1, 512), bf16), ((128, 1), bf16), ((1, 1), bf16)], ()),
]


def _signature(trace) -> list[tuple]:
    """What the cost model sees of each instruction: opcode, engine, API, sizes and operand regions."""
    def regions(accesses):
        return tuple((a.buffer, a.dtype, a.partitions, a.free_elems) for a in accesses)
    return [(i.opcode, i.engine, i.api, i.partitions, i.elems, regions(i.dst), regions(i.src))
            for i in trace.instructions]


@pytest.mark.parametrize("module,name,args,grid", FAMILIES, ids=[f"{m}.{n}" for m, n, _, _ in FAMILIES])
def test_shape_only_trace_matches_numeric_trace(module, name, args, grid):
    kernel = getattr(kernels(module), name)
    rng = np.random.default_rng(0)
    arrays = [sample(rng, shape, dtype) for shape, dtype in args]
    numeric = run_kernel(kernel, arrays, grid=grid)
    placeholders = [TensorSpec(shape, dtype) for shape, dtype in args]
    shapes_only = run_kernel(kernel, placeholders, grid=grid, numerics=False)
    assert shapes_only.outputs is None
    assert len(numeric.trace.instructions) > 0
    assert _signature(shapes_only.trace) == _signature(numeric.trace)
