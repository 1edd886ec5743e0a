"""Where a candidate's sandboxed worker runs: the seam between the Evaluator and execution hosts.

The Evaluator keeps everything trusted (inputs, references, the cache, checking and timing the worker's
files, the verdict) and hands an executor a :class:`~autocomp.evaluate.executors.node.NodeJob`: the
candidate, its inputs and the worker's limits. The executor runs the job's worker on some host, in that
host's sandbox (node.py), and returns what the worker left. Without an executor the Evaluator runs workers
itself, from its pool of spares, as it always has.
"""

from __future__ import annotations

import threading
from typing import Protocol

from autocomp.evaluate.executors.node import NodeJob, NodeOutcome

EXECUTORS = ("local", "ray")


class ExecutorLost(KeyboardInterrupt):
    """The execution hosts are gone (the Ray cluster died or cannot be reached): the run stops as if
    interrupted, keeps every committed evaluation, and continues with ``--resume`` on a cluster or locally.

    A KeyboardInterrupt, like a Ctrl-C: an evaluation that did not finish is not a verdict on its candidate,
    and must never be recorded as one (the search records only what ``Exception`` handlers turn into results).
    """


class Executor(Protocol):
    """Runs jobs' workers on execution hosts; thread-safe, ``run`` blocks until the worker has ended."""

    name: str

    def slots(self) -> int:
        """How many jobs it can run at once (the evaluator's parallelism)."""

    def run(self, job: NodeJob) -> NodeOutcome:
        """Run ``job``'s worker (on a host with a free NeuronCore when ``job.device``). Raises ExecutorLost when
        no host is left, node.NodeRefused when a host cannot run it as asked."""

    def close(self) -> None:
        """Let go of the hosts (a cluster this executor started is stopped)."""


class SharedExecutor:
    """One executor lent to several evaluators (the two-tier search's sim and hw ones, one Ray connection for
    both): each evaluator closes its share, the last close closes the executor. Everything else is the
    executor's (``run_device`` and ``neuron_cores`` where it has NeuronCores)."""

    def __init__(self, executor: Executor, shares: int):
        self.executor = executor
        self.name = executor.name
        self._shares = shares
        self._lock = threading.Lock()

    def slots(self) -> int:
        return self.executor.slots()

    def run(self, job: NodeJob) -> NodeOutcome:
        return self.executor.run(job)

    def __getattr__(self, name: str):
        if name == "executor":  # not set yet: never look it up on itself
            raise AttributeError(name)
        return getattr(self.executor, name)

    def close(self) -> None:
        with self._lock:
            self._shares -= 1
            last = self._shares == 0
        if last:
            self.executor.close()
