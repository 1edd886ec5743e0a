"""`autocomp optimize` with the fake evaluator at its seam, for the SIGKILL-and-resume tests.

Run as ``python -m tests.fakes.crash_driver optimize ...`` (the CLI's own arguments) with the environment of
``tests.fakes.child_env``, which also says:

- ``CRASH_LATENCY``: ``grid`` for :func:`tests.fakes.search.grid_latency`, else the default formula;
- ``CRASH_STALL_AFTER``: evaluate this many kernels (search and re-validation alike), then hang every
  further evaluation until the process is killed. Every evaluation that returned is committed, so the
  run store then holds exactly the evaluations it had plus this many, and the test kills a process
  that cannot have finished: no kill point depends on how fast the machine is.

:func:`run_here` runs the same command in the test's own process, for runs nobody kills. Both poll the manual
provider's answer files every 20 ms (tests.fakes.manual_person.QuickPollingClient).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import autocomp.search.runner as runner
from tests.fakes.manual_person import quick_polling
from tests.fakes.search import FakeEvaluator, grid_latency


class StallingEvaluator(FakeEvaluator):
    def __init__(self, latency, stall_after: int | None):
        super().__init__(latency)
        self.stall_after = stall_after
        self.started = 0
        self._count = threading.Lock()

    def evaluate(self, problem, source: str, *, seeds=None) -> dict:
        with self._count:
            self.started += 1
            stall = self.stall_after is not None and self.started > self.stall_after
        if stall:
            threading.Event().wait()  # until SIGKILL
        return super().evaluate(problem, source, seeds=seeds)


def run_here(args: list[str], cache: Path, monkeypatch, latency=None):
    """``autocomp optimize ARGS`` in the calling process with the same evaluator at the same seam (never stalling),
    for the runs whose own process is not what a test checks; returns the CliRunner result."""
    import signal

    from typer.testing import CliRunner

    from autocomp.cli import app

    with monkeypatch.context() as mp:
        mp.setattr(runner, "default_evaluator", lambda config, calibration=None: StallingEvaluator(latency, None))
        quick_polling(mp)
        mp.setenv("AUTOCOMP_CACHE_DIR", str(cache))
        sigterm = signal.getsignal(signal.SIGTERM)  # the command makes SIGTERM stop the run like Ctrl-C
        try:
            return CliRunner().invoke(app, ["optimize", *args], catch_exceptions=False)
        finally:
            signal.signal(signal.SIGTERM, sigterm)


def main() -> None:
    latency = grid_latency if os.environ.get("CRASH_LATENCY") == "grid" else None
    stall = os.environ.get("CRASH_STALL_AFTER")
    runner.default_evaluator = (lambda config, calibration=None:
                                StallingEvaluator(latency, int(stall) if stall else None))
    quick_polling()
    from autocomp.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
