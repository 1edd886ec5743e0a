"""What `autocomp optimize` prints while it runs: candidate-level progress inside an iteration, on stderr only."""

from __future__ import annotations

import io

from rich.console import Console

from autocomp.search.display import RunDisplay


def _consoles():
    out, err = io.StringIO(), io.StringIO()
    return out, err, Console(file=out, width=200), Console(file=err, width=200)


def _iteration(display: RunDisplay) -> None:
    display("baseline", {"id": 1, "latency_us": 300.0})
    display("iteration_start", {"iteration": 2, "stage": "knobs", "beam": [1]})
    for cand in (2, 3, 4):
        display("candidate", {"id": cand, "origin": "knobs", "iteration": 2})
    display("evaluated", {"id": 2, "status": "correct", "latency_us": 200.0})
    display("evaluated", {"id": 3, "status": "incorrect", "latency_us": None})


def test_each_evaluation_reports_the_iterations_progress_and_best_speedup_on_the_progress_console():
    out, err, console, progress = _consoles()
    display = RunDisplay(console, live=False, progress=progress)
    _iteration(display)
    lines = err.getvalue().splitlines()
    assert [line.strip() for line in lines] == ["iteration 2: 1/3 candidates evaluated, best 1.50x",
                                                "iteration 2: 2/3 candidates evaluated, best 1.50x"]
    assert "candidates evaluated" not in out.getvalue()  # stdout keeps milestones only (it may be --json or piped)
    assert "baseline #1: 300.0 µs" in out.getvalue()


def test_no_progress_console_or_quiet_prints_no_progress():
    out, err, console, progress = _consoles()
    _iteration(RunDisplay(console, live=False))
    _iteration(RunDisplay(console, live=False, quiet=True, progress=progress))
    assert err.getvalue() == "" and "candidates evaluated" not in out.getvalue()


def test_the_live_table_heads_with_the_iterations_progress():
    out, err, console, progress = _consoles()
    display = RunDisplay(console, live=False)
    _iteration(display)
    console.print(display._render())
    assert "2/3 candidates evaluated" in out.getvalue() and "best 1.50x" in out.getvalue()
