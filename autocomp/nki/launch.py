"""What both dialects' decorators return: a kernel object that simulates when called.

``Kernel`` holds the decorated function, its SPMD grid and the last ``SimResult``;
each frontend subclasses it with its own launch rules (``__call__``,
``__getitem__``). ``BenchmarkRun`` and ``ProfileRun`` add what ``nki.benchmark``
and ``nki.profile`` do after a run: ask the cost model for an estimate (evidence
tier ``sim``), never claiming a hardware number.

The cost model is reached through ``cost_model()``: the simulator defines what it
needs (``profile(trace, target)`` returning an object with ``latency_us`` and
``summary()``) and ``autocomp.perf`` provides it. The simulator does not import the
cost model (the cost model imports the simulator's trace), so the default is named
here and resolved on first use; ``set_cost_model`` replaces it.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from autocomp.nki.kernel import SimResult
from autocomp.nki.shapes import TensorSpec

DEFAULT_COST_MODEL = "autocomp.perf:profile"
_cost_model: list[Callable | None] = [None]


def set_cost_model(profile: Callable | None) -> None:
    """Use ``profile(trace, target)`` for nki.benchmark / nki.profile; None restores the default."""
    _cost_model[0] = profile


def cost_model() -> Callable:
    if _cost_model[0] is None:
        module, _, name = DEFAULT_COST_MODEL.partition(":")
        _cost_model[0] = getattr(importlib.import_module(module), name)
    return _cost_model[0]


class Kernel:
    """A decorated kernel: call it with arrays to simulate, index it with a grid for SPMD."""

    # A kernel named test_* (AWS's example tests have some) is not a test: pytest follows __wrapped__ to the
    # kernel function and would collect it, asking for its parameters as fixtures.
    __test__ = False

    def __init__(self, func, mode: str = "auto", dialect: str = "v1", grid: tuple[int, ...] = (), **options):
        functools.update_wrapper(self, func)
        self.func = func
        self.mode = mode
        self.dialect = dialect
        self.grid = grid
        self.options = options
        self.last_result: SimResult | None = None

    def _numerics(self, args, kwargs) -> bool:
        return not any(isinstance(a, TensorSpec) for a in list(args) + list(kwargs.values()))


class _Latency:
    """``benchmark_result.nc_latency``: percentiles in microseconds from the cost model."""

    def __init__(self, latency_us: float, iters: int):
        self.latency_us = float(latency_us)
        self.iters = iters

    def get_latency_percentile(self, p: int) -> float:
        # The cost model is deterministic: every percentile is the same estimate.
        if not 0 <= int(p) <= 100:
            raise ValueError(f"percentile must be within 0..100, got {p}")
        return self.latency_us


class BenchmarkResult:
    def __init__(self, profile: Any, iters: int):
        self.profile = profile
        self.nc_latency = _Latency(profile.latency_us, iters)
        self.evidence = "sim"


class BenchmarkRun:
    """Mixed into a frontend's Kernel: simulate (or trace shapes), then estimate latency with the cost model."""

    def __call__(self, *args, **kwargs):
        outputs = super().__call__(*args, **kwargs)
        prof = cost_model()(self.last_result.trace, self.last_result.trace.target)
        self.benchmark_result = BenchmarkResult(prof, int(self.options.get("iters", 100)))
        print("NCLatency (simulated, autocomp cost model):")
        for p in (0, 1, 10, 25, 50, 90, 99, 100):
            print(f"  p{p} = {prof.latency_us:.2f} us")
        return outputs


class ProfileRun:
    """Mixed into a frontend's Kernel: simulate, then write the cost model's summary JSON into the working
    directory."""

    def __call__(self, *args, **kwargs):
        outputs = super().__call__(*args, **kwargs)
        prof = cost_model()(self.last_result.trace, self.last_result.trace.target)
        workdir = self.options.get("working_directory") or "."
        os.makedirs(workdir, exist_ok=True)
        name = os.path.splitext(self.options.get("save_trace_name") or "profile.ntff")[0]
        path = os.path.join(workdir, f"{name}.summary.json")
        if os.path.exists(path) and not self.options.get("overwrite", False):
            raise FileExistsError(f"{path} exists; pass overwrite=True to nki.profile to replace it")
        with open(path, "w") as f:
            json.dump(prof.summary(), f, indent=2, default=_json_default)
        self.profile_path = path
        return outputs


def _json_default(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    return str(o)
