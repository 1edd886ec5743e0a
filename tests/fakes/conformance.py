"""Support for the conformance suite: loading kernel files, test inputs and tolerances.

Kernels live in ``tests/nki/conformance/kernels/*.py`` as plain legacy-dialect files that import
``neuronxcc.nki`` like user code; they are loaded through autocomp's own kernel
loader, so the simulator stands in for the Neuron toolchain.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

import ml_dtypes
import numpy as np

import autocomp.nki
from autocomp.nki.loader import load_module
from tests.fakes import nki_testing
from tests.fakes.nki_testing import f64, opcodes  # noqa: F401 - re-exported for the conformance tests

KERNELS = Path(__file__).parents[1] / "nki" / "conformance" / "kernels"
SEEDS = (0, 1)
bf16 = ml_dtypes.bfloat16
F32 = np.float32

# Relative tolerance by the dtype the result was rounded to last (bf16 keeps 8 significant bits).
TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(bf16): 1e-2}

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


@functools.cache
def kernels(name: str) -> ModuleType:
    """The kernel file ``kernels/<name>.py`` imported with the simulator installed."""
    autocomp.nki.install()
    return load_module(KERNELS / f"{name}.py")


def sample(rng: np.random.Generator, shape, dtype=np.float32, decades=(-2.0, 1.0), zeros: float = 0.05):
    """Mixed signs, magnitudes spread log-uniformly over ``decades`` and a share of exact zeros."""
    return nki_testing.sample(rng, shape, dtype, decades, zeros)


def assert_matches(out, ref: np.ndarray, tol: float | None = None) -> None:
    """Element-wise: |out - ref| <= tol * (|ref| + max|ref|), with tol set by the output dtype."""
    nki_testing.assert_close_by_dtype(out, ref, TOLERANCE, tol)
