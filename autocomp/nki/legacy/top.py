"""``neuronxcc.nki`` top level: jit, baremetal, benchmark, profile, simulate_kernel.

Every mode simulates. ``benchmark`` and ``profile`` also estimate latency with
autocomp's cost model (evidence tier ``sim``), never claiming a hardware number.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import numpy as np

from autocomp.nki.kernel import SimResult, run_kernel
from autocomp.nki.runtime import current_or_none
from autocomp.nki.shapes import TensorSpec
from autocomp.nki.targets_info import active_target


class Kernel:
    """A decorated kernel: call it with arrays to simulate, index it with a grid for SPMD."""

    def __init__(self, func, mode: str = "auto", dialect: str = "v1", grid: tuple[int, ...] = (), **options):
        functools.update_wrapper(self, func)
        self.func = func
        self.mode = mode
        self.dialect = dialect
        self.grid = grid
        self.options = options
        self.last_result: SimResult | None = None

    def __getitem__(self, grid) -> Kernel:
        if current_or_none() is not None:
            from autocomp.nki.errors import raise_error

            raise_error("err_nested_kernel_with_spmd_grid",
                        "a kernel launched with an SPMD grid cannot be called from inside another kernel")
        grid = grid if isinstance(grid, tuple) else (grid,)
        return type(self)(self.func, self.mode, self.dialect, tuple(int(g) for g in grid), **self.options)

    def _numerics(self, args, kwargs) -> bool:
        return not any(isinstance(a, TensorSpec) for a in list(args) + list(kwargs.values()))

    def __call__(self, *args, **kwargs):
        if current_or_none() is not None:  # a sub-kernel call inside a running kernel
            return self.func(*args, **kwargs)
        result = run_kernel(self.func, args, kwargs, target=active_target(), grid=self.grid,
                            numerics=self._numerics(args, kwargs), dialect=self.dialect)
        self.last_result = result
        return result.outputs


def jit(func=None, *, mode: str = "auto", **options):
    """``@nki.jit`` in any mode (auto, jax, torchxla, baremetal, benchmark, simulation): simulate."""
    if func is None:
        return lambda f: jit(f, mode=mode, **options)
    if isinstance(func, Kernel):
        return func
    return Kernel(func, mode=mode, **options)


def trace(func=None, **options):
    """``nki.trace``: a sub-kernel; runs inline when called from a kernel."""
    return jit(func, mode="trace", **options)


def baremetal(func=None, *, save_neff_name=None, save_trace_name=None, additional_compile_opt=None,
              artifacts_dir=None, **options):
    """Compile-and-run without a framework: numpy in, numpy out (simulated here)."""
    if func is None:
        return lambda f: baremetal(f, save_neff_name=save_neff_name, save_trace_name=save_trace_name,
                                   additional_compile_opt=additional_compile_opt, artifacts_dir=artifacts_dir,
                                   **options)
    return jit(func, mode="baremetal", **options)


def simulate_kernel(kernel, *args, **kwargs):
    """Run a kernel on numpy arrays in the simulator and return its numpy outputs."""
    grid = getattr(kernel, "grid", ())
    result = run_kernel(getattr(kernel, "func", kernel), args, kwargs, target=active_target(), grid=grid,
                        numerics=True, dialect=getattr(kernel, "dialect", "v1"))
    if isinstance(kernel, Kernel):
        kernel.last_result = result
    return result.outputs


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


class BenchmarkKernel(Kernel):
    """``nki.benchmark``: simulate (or trace shapes), then estimate latency with the cost model."""

    def __call__(self, *args, **kwargs):
        from autocomp.perf import profile

        outputs = super().__call__(*args, **kwargs)
        prof = profile(self.last_result.trace, self.last_result.trace.target)
        self.benchmark_result = BenchmarkResult(prof, int(self.options.get("iters", 100)))
        print("NCLatency (simulated, autocomp cost model):")
        for p in (0, 1, 10, 25, 50, 90, 99, 100):
            print(f"  p{p} = {prof.latency_us:.2f} us")
        return outputs


def benchmark(func=None, *, warmup: int = 10, iters: int = 100, save_neff_name=None, save_trace_name=None,
              additional_compile_opt=None, device_count: int = 1, **options):
    if func is None:
        return lambda f: benchmark(f, warmup=warmup, iters=iters, **options)
    return BenchmarkKernel(getattr(func, "func", func), mode="benchmark", warmup=warmup, iters=iters, **options)


class ProfileKernel(Kernel):
    """``nki.profile``: simulate, then write the cost model's summary JSON into the working directory."""

    def __call__(self, *args, **kwargs):
        from autocomp.perf import profile

        outputs = super().__call__(*args, **kwargs)
        prof = profile(self.last_result.trace, self.last_result.trace.target)
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


def profile(func=None, *, working_directory: str | None = None, save_neff_name: str = "file.neff",
            save_trace_name: str = "profile.ntff", overwrite: bool = False, profile_nth: int = 1, **options):
    if func is None:
        return lambda f: profile(f, working_directory=working_directory, save_neff_name=save_neff_name,
                                 save_trace_name=save_trace_name, overwrite=overwrite, profile_nth=profile_nth)
    return ProfileKernel(getattr(func, "func", func), mode="profile", working_directory=working_directory,
                         save_trace_name=save_trace_name, overwrite=overwrite)
