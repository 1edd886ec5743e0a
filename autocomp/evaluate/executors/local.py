"""Jobs run on this host through the same code path a remote host uses (node.run_job), in a thread pool.

The Evaluator's default (no executor) is faster on one host: it keeps spare workers started ahead of need.
This executor exists so the remote path can be exercised, and compared with, where Ray is not installed.
"""

from __future__ import annotations

import os

from autocomp.evaluate.executors.node import NodeJob, NodeOutcome, run_job


class HostExecutor:
    name = "local"

    def __init__(self, slots: int | None = None):
        self._slots = max(1, slots or os.cpu_count() or 1)

    def slots(self) -> int:
        return self._slots

    def run(self, job: NodeJob) -> NodeOutcome:
        return run_job(job)

    def close(self) -> None:
        pass
