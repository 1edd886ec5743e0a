"""Test inputs that expose wrong kernels: mixed signs, magnitudes over several decades, exact zeros.

``rand()`` in [0, 1) hides sign bugs, cancellation and bad scaling (docs/evaluation.md#correctness), so problem
references draw their inputs from ``mixed`` and shape them to the domain (positive, clipped, ...).
"""

from __future__ import annotations

import numpy as np


def mixed(rng: np.random.Generator, shape, *, scale: float = 1.0, decades: tuple[float, float] = (-1.5, 0.5),
          zeros: float = 0.02, dtype=np.float32) -> np.ndarray:
    """Normal signs times magnitudes log-uniform over ``10**decades``, times ``scale``; a ``zeros`` share is 0.

    Generated in float32 (fast for tensors of tens of millions of elements), then cast to ``dtype``.
    """
    lo, hi = decades
    x = rng.standard_normal(shape, dtype=np.float32)
    x *= np.float32(scale) * np.float32(10) ** (rng.random(shape, dtype=np.float32) * np.float32(hi - lo)
                                                + np.float32(lo))
    if zeros:
        x[rng.random(shape, dtype=np.float32) < zeros] = 0
    return x.astype(dtype, copy=False)
