"""A backend whose worker half reports an impossible latency, to show the parent refuses it (used by name)."""

from __future__ import annotations

from pathlib import Path

from autocomp.backends.sim import SimBackend


class LyingBackend(SimBackend):
    name = "lying_backend:LyingBackend"  # the worker re-creates the backend from this import path

    def pythonpath(self) -> list[str]:
        return [str(Path(__file__).parent)]

    def measure(self, handle, job, first_args):
        timing = super().measure(handle, job, first_args)
        fast = timing.latency_us / 1000  # "1000x faster"
        return timing.model_copy(update={"latency_us": fast, "summary": {**timing.summary, "total_time": fast * 1e-6}})
