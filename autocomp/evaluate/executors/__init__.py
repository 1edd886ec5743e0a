"""Where candidates' sandboxed workers run: on this host (the Evaluator's own pool, or ``HostExecutor``), or
as Ray tasks on a cluster (``RayExecutor``). base.py has the seam, node.py the part a host runs, devices.py the
hw backend's device steps on a cluster's NeuronCores."""

from __future__ import annotations

from autocomp.evaluate.executors.base import EXECUTORS, Executor, ExecutorLost, SharedExecutor
from autocomp.evaluate.executors.node import NodeJob, NodeOutcome, NodeRefused


def create_executor(name: str, *, ray_address: str | None = None, slots: int | None = None) -> Executor | None:
    """The executor for ``--executor NAME``: None for "local" (the Evaluator runs its own workers)."""
    if name == "local":
        return None
    if name == "ray":
        from autocomp.evaluate.executors.ray import RayExecutor

        return RayExecutor(ray_address, num_cpus=slots)
    raise ValueError(f"executor {name!r}: use one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "ExecutorLost", "NodeJob", "NodeOutcome", "NodeRefused", "SharedExecutor",
           "create_executor"]
