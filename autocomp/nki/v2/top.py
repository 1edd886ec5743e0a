"""``nki`` top level (the v2 dialect): jit, simulate, benchmark, profile, LNC grids.

Every call simulates (``NKI_SIMULATOR=1`` is implied). ``kernel[2]`` runs two
logical-core instances (``nl.program_id(0)`` is 0 and 1) that share
``nl.shared_hbm`` tensors; the cost model runs them concurrently.
"""

from __future__ import annotations

import functools

from autocomp import targets
from autocomp.nki import launch
from autocomp.nki.errors import raise_error
from autocomp.nki.kernel import run_kernel
from autocomp.nki.launch import BenchmarkRun, ProfileRun
from autocomp.nki.runtime import TARGET_ENV, current_or_none
from autocomp.nki.targets_info import FrontendState
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM
from autocomp.nki.v2 import rules as _rules
from autocomp.nki.v2.lnc_degree import lnc_grid
from autocomp.nki.v2.views import as_tensor

__all__ = ["jit", "simulate", "benchmark", "profile", "Kernel", "BenchmarkKernel", "ProfileKernel"]

_UNSET = object()

# The target of kernels launched without one; autocomp.nki.install(target=) sets it.
STATE = FrontendState()


def _entry(fn):
    """The kernel as run_kernel calls it: inputs become writable NkiTensors; outputs must be shared_hbm."""

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        args = [_input(a) for a in args]
        kwargs = {k: _input(v) for k, v in kwargs.items()}
        result = fn(*args, **kwargs)
        _check_outputs(result, fn)
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tile):
                a.alloc.mutable = a.alloc.dirty  # only written arguments are copied back to the caller
        return result

    return entry


def _input(a):
    if isinstance(a, Tile):
        a.alloc.mutable = True  # v2 kernels may write their HBM arguments in place
        return as_tensor(a)
    return a


def _check_outputs(result, fn, path: str = "output") -> None:
    if isinstance(result, (tuple, list)):
        for i, r in enumerate(result):
            _check_outputs(r, fn, f"{path}[{i}]")
    elif isinstance(result, dict):
        for k, r in result.items():
            _check_outputs(r, fn, f"{path}[{k!r}]")
    elif isinstance(result, Tile):
        a = result.alloc
        if a.kind in ("output", "input"):
            return
        where = "HBM" if a.buffer == HBM else a.buffer.upper()
        raise_error("err_output_not_shared_hbm",
                    f"kernel {fn.__name__} returns {a.name} ({path}), a tensor in {where} that is not nl.shared_hbm; "
                    "every returned tensor must be allocated with nl.ndarray(..., buffer=nl.shared_hbm) (nki >= 0.3)")


class Kernel(launch.Kernel):
    """An ``@nki.jit`` kernel: call it to simulate; ``kernel[2]`` launches two logical cores (trn2/trn3)."""

    lnc: int | None = None  # the bracket's LNC degree, when the launch gave one

    def __init__(self, func, mode: str = "auto", dialect: str = "v2", grid: tuple[int, ...] = (), **options):
        super().__init__(func, mode=mode, dialect="v2", grid=grid, **options)

    def __getitem__(self, lnc) -> Kernel:
        if current_or_none() is not None:
            raise_error("err_nested_kernel_with_spmd_grid",
                        "a kernel launched with kernel[lnc] cannot be called from inside another kernel")
        grid = tuple(lnc) if isinstance(lnc, (tuple, list)) else (lnc,)
        if len(grid) != 1 or int(grid[0]) not in (1, 2):
            raise_error("err_invalid_argument",
                        f"kernel[{lnc}]: the current dialect launches 1 or 2 logical cores (kernel[1] or kernel[2]); "
                        "multi-dimensional SPMD grids belong to the legacy dialect")
        k = type(self)(self.func, self.mode, "v2", () if int(grid[0]) == 1 else (2,), **self.options)
        k.lnc = int(grid[0])  # given explicitly: checked against the compiler's degree (lnc_degree)
        return k

    def simulation_entry(self):
        """The function ``run_kernel`` calls for this kernel: its inputs wrapped as in a direct call."""
        return _entry(self.func)

    def __call__(self, *args, **kwargs):
        if current_or_none() is not None:
            raise_error("err_jit_on_subkernel",
                        f"{self.func.__name__} is decorated with @nki.jit but called from inside another kernel; "
                        "only the top-level kernel takes @nki.jit (remove the decorator from the sub-kernel)")
        target = STATE.default_target
        grid = lnc_grid(self.func.__name__, getattr(self, "lnc", None), self.grid, STATE.nki_version)
        if grid and not target.logical_core_pairs:
            raise_error("err_invalid_argument",
                        f"kernel[{grid[0]}]: logical NeuronCores (LNC=2) exist on "
                        f"{'/'.join(targets.names_with('logical_core_pairs'))}, not on {target.name}; launch kernel[1] "
                        f"or set {TARGET_ENV}={targets.earliest_with('logical_core_pairs')}")
        _rules.check_kernel(self.func)
        _rules.check_arguments(self.func, args, kwargs)
        result = run_kernel(_entry(self.func), args, kwargs, target=target, grid=grid,
                            numerics=self._numerics(args, kwargs), dialect="v2", nki_version=STATE.nki_version)
        self.last_result = result
        return result.outputs


class BenchmarkKernel(BenchmarkRun, Kernel):
    """``nki.benchmark``: simulate (or trace shapes), then estimate latency with the cost model."""


class ProfileKernel(ProfileRun, Kernel):
    """``nki.profile``: simulate, then write the cost model's summary JSON."""


def jit(fn=None, *, mode=_UNSET, platform_target=_UNSET, **options):
    """``@nki.jit``: the framework follows the argument types; here every call simulates."""
    if mode is not _UNSET:
        raise_error("err_deprecated_jit_argument",
                    f"nki.jit(mode={mode!r}): the mode argument was removed in nki 0.3 (the framework is detected "
                    "from the argument types); remove it, and simulate with nki.simulate(kernel) or NKI_SIMULATOR=1")
    if platform_target is not _UNSET:
        raise_error("err_deprecated_jit_argument",
                    f"nki.jit(platform_target={platform_target!r}) was removed in nki 0.3; set the target with the "
                    "NEURON_PLATFORM_TARGET_OVERRIDE environment variable")
    if fn is None:
        return lambda f: jit(f, **options)
    if isinstance(fn, Kernel):
        return fn
    return Kernel(getattr(fn, "func", fn), **options)


def simulate(kernel):
    """``nki.simulate(kernel)(*arrays)``: run on the CPU simulator, numpy (or torch) in and out."""
    k = kernel if isinstance(kernel, Kernel) else Kernel(getattr(kernel, "func", kernel),
                                                         grid=getattr(kernel, "grid", ()))
    if k is not kernel:
        k.lnc = getattr(kernel, "lnc", None)

    @functools.wraps(k.func)
    def run(*args, **kwargs):
        out = k(*args, **kwargs)
        run.last_result = k.last_result
        if k is not kernel and isinstance(kernel, launch.Kernel):
            kernel.last_result = k.last_result
        return out

    return run


def benchmark(func=None, *, warmup: int = 10, iters: int = 100, save_neff_name=None, save_trace_name=None,
              additional_compile_opt=None, device_count: int = 1, **options):
    """``nki.benchmark(warmup=, iters=)(kernel)``: afterwards ``benchmark_result.nc_latency`` holds the estimate."""
    if func is None:
        return lambda f: benchmark(f, warmup=warmup, iters=iters, **options)
    k = BenchmarkKernel(getattr(func, "func", func), mode="benchmark", grid=getattr(func, "grid", ()),
                        warmup=warmup, iters=iters, **options)
    k.lnc = getattr(func, "lnc", None)
    return k


def profile(func=None, *, working_directory: str | None = None, save_neff_name: str = "file.neff",
            save_trace_name: str = "profile.ntff", overwrite: bool = False, profile_nth: int = 1, **options):
    if func is None:
        return lambda f: profile(f, working_directory=working_directory, save_trace_name=save_trace_name,
                                 overwrite=overwrite)
    k = ProfileKernel(getattr(func, "func", func), mode="profile", grid=getattr(func, "grid", ()),
                      working_directory=working_directory, save_trace_name=save_trace_name, overwrite=overwrite)
    k.lnc = getattr(func, "lnc", None)
    return k
