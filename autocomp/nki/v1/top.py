"""``neuronxcc.nki`` top level (the v1 dialect): jit, baremetal, benchmark, profile, simulate_kernel.

Every mode simulates. ``benchmark`` and ``profile`` also estimate latency with
autocomp's cost model (evidence tier ``sim``), never claiming a hardware number.
"""

from __future__ import annotations

from autocomp.nki import launch
from autocomp.nki.errors import raise_error
from autocomp.nki.kernel import run_kernel
from autocomp.nki.launch import BenchmarkResult, BenchmarkRun, ProfileRun
from autocomp.nki.runtime import current_or_none, target_record
from autocomp.nki.targets_info import FrontendState
from autocomp.nki.tile import Tile

__all__ = ["jit", "trace", "baremetal", "benchmark", "profile", "simulate_kernel", "Kernel", "BenchmarkKernel",
           "ProfileKernel", "BenchmarkResult", "tensor"]


class _TensorType(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tile)


class tensor(metaclass=_TensorType):  # noqa: N801 - NKI's name
    """``nki.tensor``: the type of every tensor and tile a kernel holds (kernel arguments, nl.ndarray results,
    indexed regions), for annotations and ``isinstance``. Its methods (shape, dtype, itemsize, ndim, reshape,
    view, astype, broadcast_to, expand_dims, assert_shape) are the tiles' own; tensors come from nl.ndarray and
    friends, never from calling this class."""

    def __new__(cls, *args, **kwargs):
        raise_error("err_invalid_argument", "nki.tensor is the tensor type, not a constructor; create tensors with "
                                            "nl.ndarray / nl.zeros / nl.load")


# The target of kernels launched without one; autocomp.nki.install(target=) sets it.
STATE = FrontendState()


class Kernel(launch.Kernel):
    """A decorated kernel: call it with arrays to simulate, index it with a grid for SPMD."""

    def __getitem__(self, grid) -> Kernel:
        if current_or_none() is not None:
            raise_error("err_nested_kernel_with_spmd_grid",
                        "a kernel launched with an SPMD grid cannot be called from inside another kernel")
        grid = grid if isinstance(grid, tuple) else (grid,)
        return type(self)(self.func, self.mode, self.dialect, tuple(int(g) for g in grid), **self.options)

    def __call__(self, *args, **kwargs):
        if current_or_none() is not None:  # a sub-kernel call inside a running kernel
            return self.func(*args, **kwargs)
        result = run_kernel(self.func, args, kwargs, target=_launch_target(self), grid=self.grid,
                            numerics=self._numerics(args, kwargs), dialect=self.dialect)
        self.last_result = result
        return result.outputs


def _launch_target(kernel):
    """``platform_target=`` given to ``nki.jit`` / ``nki.baremetal`` (AWS's simulator honours it), else the default."""
    chosen = getattr(kernel, "options", {}).get("platform_target")
    return target_record(chosen) if chosen else STATE.default_target


def jit(func=None, mode: str = "auto", **options):
    """``@nki.jit`` in any mode (auto, jax, torchxla, baremetal, benchmark, simulation): simulate."""
    if func is None:
        return lambda f: jit(f, mode=mode, **options)
    if isinstance(func, launch.Kernel):
        return func  # already a kernel, of either dialect
    return Kernel(func, mode=mode, **options)


def trace(func=None, **options):
    """``nki.trace``: a sub-kernel; runs inline when called from a kernel."""
    return jit(func, mode="trace", **options)


def baremetal(kernel=None, *, save_neff_name=None, save_trace_name=None, additional_compile_opt=None,
              artifacts_dir=None, **options):
    """Compile-and-run without a framework: numpy in, numpy out (simulated here)."""
    if kernel is None:
        return lambda f: baremetal(f, save_neff_name=save_neff_name, save_trace_name=save_trace_name,
                                   additional_compile_opt=additional_compile_opt, artifacts_dir=artifacts_dir,
                                   **options)
    return jit(kernel, mode="baremetal", **options)


def simulate_kernel(kernel, *args, **kwargs):
    """Run a kernel on numpy arrays in the simulator and return its numpy outputs."""
    grid = getattr(kernel, "grid", ())
    result = run_kernel(getattr(kernel, "func", kernel), args, kwargs, target=_launch_target(kernel), grid=grid,
                        numerics=True, dialect=getattr(kernel, "dialect", "v1"))
    if isinstance(kernel, launch.Kernel):
        kernel.last_result = result
    return result.outputs


class BenchmarkKernel(BenchmarkRun, Kernel):
    """``nki.benchmark``: simulate (or trace shapes), then estimate latency with the cost model."""


class ProfileKernel(ProfileRun, Kernel):
    """``nki.profile``: simulate, then write the cost model's summary JSON into the working directory."""


def benchmark(kernel=None, *, warmup: int = 10, iters: int = 100, save_neff_name=None, save_trace_name=None,
              additional_compile_opt=None, device_count: int = 1, **options):
    if kernel is None:
        return lambda f: benchmark(f, warmup=warmup, iters=iters, **options)
    return BenchmarkKernel(getattr(kernel, "func", kernel), mode="benchmark", warmup=warmup, iters=iters, **options)


def profile(func=None, *, working_directory: str | None = None, save_neff_name: str = "file.neff",
            save_trace_name: str = "profile.ntff", overwrite: bool = False, profile_nth: int = 1, **options):
    if func is None:
        return lambda f: profile(f, working_directory=working_directory, save_neff_name=save_neff_name,
                                 save_trace_name=save_trace_name, overwrite=overwrite, profile_nth=profile_nth)
    return ProfileKernel(getattr(func, "func", func), mode="profile", working_directory=working_directory,
                         save_trace_name=save_trace_name, overwrite=overwrite)
