"""Support for the tests of the less common NKI ops: run a kernel twice and compare the traces.

Every kernel runs once with values and once tracing shapes only; both runs must
record the same (opcode, engine) sequence, since the cost model sees only traces.
"""

from __future__ import annotations

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiError, TensorSpec, run_kernel

autocomp.nki.install()
SEEDS = (0, 1)


def ops(trace) -> list[tuple[str, str]]:
    return [(ins.opcode, ins.engine) for ins in trace.instructions]


def run(kernel, *args, target: str = "trn1", grid: tuple[int, ...] = ()):
    """(outputs, trace) of ``kernel(*args)``, after checking the shape-only trace matches."""
    result = run_kernel(kernel, args, target=target, grid=grid)
    specs = tuple(TensorSpec(a.shape, a.dtype) if isinstance(a, np.ndarray) else a for a in args)
    shapes_only = run_kernel(kernel, specs, target=target, grid=grid, numerics=False)
    assert ops(shapes_only.trace) == ops(result.trace)
    return result.outputs, result.trace


def error_code(kernel, *args, target: str = "trn1") -> str:
    """The err_* code the simulator raises for ``kernel(*args)``."""
    with pytest.raises(NkiError) as err:
        run_kernel(kernel, args, target=target)
    return err.value.code


def normal(seed: int, shape, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
