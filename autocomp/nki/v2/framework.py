"""``nki.framework.compiled.CompileKernel``: the compile-and-run hook AC's v2 harness shim calls."""

from __future__ import annotations

from autocomp.nki.v2.top import Kernel

__all__ = ["CompileKernel", "Kernel"]


class CompileKernel:
    """``CompileKernel(func, artifacts_dir, _enable_simulation=True)(*args)``: simulates; writes no NEFF."""

    def __init__(self, func, artifacts_dir: str | None = None, _enable_simulation: bool = True, **options):
        self.kernel = func if isinstance(func, Kernel) else Kernel(getattr(func, "func", func))
        self.artifacts_dir = artifacts_dir

    def __call__(self, *args, **kwargs):
        return self.kernel(*args, **kwargs)
