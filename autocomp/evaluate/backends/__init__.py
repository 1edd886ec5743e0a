"""Backends that compile, run and time candidates: ``sim`` (default) and ``neuron`` (real toolchain).

    from autocomp.evaluate.backends import get_backend
    backend = get_backend("auto")   # neuron when neuronxcc and a NeuronCore are present, else sim
"""

from __future__ import annotations

import importlib
from typing import Any

from autocomp.evaluate.backends.base import Backend
from autocomp.evaluate.backends.sim import SimBackend

BACKENDS = ("sim", "neuron", "auto")


def create_backend(name: str, **options: Any) -> Backend:
    """A backend by name (``sim``, ``neuron``) or import path (``package.module:Class``, for tests and plugins)."""
    if name == "sim":
        return SimBackend(**options)
    if name == "neuron":
        from autocomp.evaluate.backends.neuron import NeuronBackend

        return NeuronBackend(**options)
    if ":" in name:
        module, _, attr = name.partition(":")
        return getattr(importlib.import_module(module), attr)(**options)
    raise ValueError(f"unknown backend {name!r}; use sim, neuron or auto")


def get_backend(name: str = "sim", **options: Any) -> Backend:
    """``auto`` picks ``neuron`` when the real neuronxcc imports and /dev/neuron0 exists, else ``sim``."""
    if name == "auto":
        from autocomp.evaluate.backends.neuron import NeuronBackend

        neuron = NeuronBackend(**options)
        return neuron if neuron.available()[0] else SimBackend()
    backend = create_backend(name, **options)
    ok, why = backend.available()
    if not ok:
        raise RuntimeError(f"backend {name!r} is not available here: {why}")
    return backend


__all__ = ["BACKENDS", "Backend", "SimBackend", "create_backend", "get_backend"]
