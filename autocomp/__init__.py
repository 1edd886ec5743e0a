"""autocomp: an LLM-driven autotuner for AWS Trainium NKI kernels."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so `import autocomp` stays cheap: the notebook explorer pulls in the run store only when used.
    if name == "open_run":
        from autocomp.explore import open_run

        return open_run
    if name in ("optimize", "RunResult"):
        from autocomp import api

        return getattr(api, name)
    raise AttributeError(f"module 'autocomp' has no attribute {name!r}")


__all__ = ["open_run", "optimize", "RunResult"]


def __dir__() -> list[str]:
    # The public names are loaded lazily by __getattr__, so dir() would not see them otherwise.
    return sorted(set(globals()) | set(__all__))
