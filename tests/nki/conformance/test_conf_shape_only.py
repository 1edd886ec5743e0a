"""Conformance: tracing shapes only (numerics=False) issues exactly the instructions of a numeric run.

The cost model and ``nki.benchmark`` placeholders rely on shape-only traces, so a
family whose instruction stream depends on whether values are computed would
give the cost model a different program than the one that was checked.
"""

import numpy as np
import pytest

from autocomp.nki import TensorSpec, run_kernel
from tests.fakes.conformance import FAMILIES, kernels, sample


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
