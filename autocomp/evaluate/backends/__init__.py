"""Backends that compile, run and time candidates: ``sim`` (default) and ``hw`` (alias ``neuron``: Trainium).

    from autocomp.evaluate.backends import get_backend
    backend = get_backend("hw", **options)   # the current SDK's, or the legacy one on an old SDK, or an error
    backend = get_backend("auto")            # hw with the current SDK and a NeuronCore, legacy on an old one, else sim

``hw`` and ``neuron`` detect the installed SDK (``sdk.py``): NKI 0.7+ with nrtpy gives ``HwBackend``
(``hw.py``); an SDK that only has ``neuronxcc`` gives the legacy ``NeuronBackend`` (``neuron.py``: nki.baremetal
+ neuron-profile) when neuron-profile is still installed; anything else is an error saying what to install.
"""

from __future__ import annotations

import importlib
from typing import Any

from autocomp.evaluate.backends.base import Backend
from autocomp.evaluate.backends.sim import SimBackend

BACKENDS = ("sim", "hw", "neuron", "auto")
HW_OPTIONS = ("compile_pythonpath", "runtime_pythonpath", "runtime_python", "path", "cores", "lnc", "warmup",
              "iterations", "max_rounds", "spread_limit", "profile", "explorer")


def create_backend(name: str, **options: Any) -> Backend:
    """A backend by name (``sim``, ``neuron``) or import path (``package.module:Class``, for tests and plugins)."""
    if name == "sim":
        return SimBackend(**options)
    if name == "hw":
        from autocomp.evaluate.backends.hw import HwBackend

        return HwBackend(**options)
    if name == "neuron":
        from autocomp.evaluate.backends.neuron import NeuronBackend

        return NeuronBackend(**options)
    if ":" in name:
        module, _, attr = name.partition(":")
        return getattr(importlib.import_module(module), attr)(**options)
    raise ValueError(f"unknown backend {name!r}; use sim, hw (alias neuron) or auto")


def hardware_backend(**options: Any) -> Backend:
    """``--backend hw``: the current SDK's backend, else the legacy one on an old SDK that still has
    neuron-profile; an error naming what is missing otherwise. ``options`` are HwBackend's."""
    from autocomp.evaluate.backends.hw import HwBackend
    from autocomp.evaluate.backends.sdk import SdkError

    hw = HwBackend(**options)
    ok, why = hw.available()
    if ok:
        return hw
    info = hw.sdk()
    if info.nki is None and info.neuronxcc is not None:
        from autocomp.evaluate.backends.neuron import NeuronBackend

        legacy = NeuronBackend(pythonpath=hw.compile_pythonpath, path=hw.extra_path, cores=hw.cores)
        legacy_ok, legacy_why = legacy.available()
        if legacy_ok:
            return legacy
        why = (f"found only the old compiler neuronxcc {info.neuronxcc}, and its timing path is unusable here "
               f"({legacy_why}; neuron-profile was retired in Neuron 2.29). Install Neuron SDK 2.33+ (nki, nrtpy, "
               "neuron-explorer)")
    raise SdkError(f"backend 'hw' is not available here: {why}")


def auto_backend(**options: Any) -> tuple[Backend, Any]:
    """``--backend auto``: (the backend, the ``BackendChoice`` saying which and why). ``options`` are HwBackend's
    (or the legacy backend's: ``device``, ``pythonpath``, ``path``)."""
    from autocomp.evaluate.backends.choice import choose_backend

    choice = choose_backend(**options)
    if choice.name == "hw":  # from here on exactly --backend hw, its errors included (--hw-profile, ...)
        return hardware_backend(**choice.options), choice
    if choice.name == "neuron":
        from autocomp.evaluate.backends.neuron import NeuronBackend

        return NeuronBackend(**choice.options), choice
    return SimBackend(), choice


def get_backend(name: str = "sim", **options: Any) -> Backend:
    """``auto`` picks ``hw`` with the current SDK and a NeuronCore, the legacy ``neuron`` backend on an old SDK that
    can still use it, else ``sim`` (``choice.py``); ``hw`` (and its alias ``neuron`` given HwBackend's options)
    detects the SDK (``hardware_backend``)."""
    if name == "hw" or (name == "neuron" and set(options) <= set(HW_OPTIONS)):  # legacy options: legacy backend
        return hardware_backend(**options)
    if name == "auto":
        return auto_backend(**options)[0]
    backend = create_backend(name, **options)
    ok, why = backend.available()
    if not ok:
        raise RuntimeError(f"backend {name!r} is not available here: {why}")
    return backend


__all__ = ["BACKENDS", "Backend", "SimBackend", "auto_backend", "create_backend", "get_backend", "hardware_backend"]
