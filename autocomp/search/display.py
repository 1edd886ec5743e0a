"""What ``autocomp optimize`` shows while it runs: a live beam table on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from autocomp.search.node import Node
from autocomp.units import latency, speedup


def _us(value: float | None) -> str:
    return latency(value) if value else "-"


class RunDisplay:
    """An event sink for :func:`run_optimization` that keeps the user informed. Thread-safe."""

    def __init__(self, console: Console, *, live: bool | None = None, quiet: bool = False,
                 progress: Console | None = None):
        """``progress``: where candidate-level progress lines go when there is no live table (a terminal's
        stderr; None for none, e.g. piped output)."""
        self.console = console
        self.progress_console = progress
        self.live_mode = console.is_terminal if live is None else live
        self.quiet = quiet
        self.run: Any = None
        self.stage = ""
        self.iteration = 0
        self.beam: list[int] = []
        self.baseline_us: float | None = None
        self.evaluations = 0
        self.failed = 0
        self.llm_calls = 0
        self.llm_usd = 0.0
        self.last_note = ""
        # This iteration's candidates: proposed, evaluated, and the best latency among the correct ones.
        self.iter_proposed = 0
        self.iter_evaluated = 0
        self.best_us: float | None = None
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._started = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def attach(self, run: Any) -> None:
        """Called once the run exists (``run_optimization(on_start=...)``)."""
        self.run = run
        if self.live_mode and not self.quiet:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.start()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # ------------------------------------------------------------------ events
    def __call__(self, kind: str, data: dict) -> None:
        with self._lock:
            line = self._update(kind, data)
            if self.quiet:
                return
            if self._live is not None:
                # Milestones scroll above the live table, so the terminal keeps a log of the run.
                if line and kind not in ("iteration_start",):
                    self._live.console.print(line, highlight=False)
                self._live.update(self._render())
                return
            if line:
                self.console.print(line, highlight=False, soft_wrap=True)
            if kind == "evaluated" and self.progress_console is not None and self.iteration:
                self.progress_console.print(f"[dim]  {self.candidate_progress()}[/]", highlight=False)

    def _update(self, kind: str, data: dict) -> str | None:
        if kind == "notice":
            return f"[yellow]note:[/] {data['message']}"
        if kind == "baseline":
            self.baseline_us = data.get("latency_us")
            self.best_us = self.best_us or self.baseline_us
            return f"baseline #{data['id']}: {_us(self.baseline_us)}"
        if kind == "candidate":
            self.iter_proposed += 1
            return None
        if kind == "evaluated":
            self.evaluations += 1
            if data.get("status") != "correct":
                self.failed += 1
            elif data.get("latency_us") and (self.best_us is None or data["latency_us"] < self.best_us):
                self.best_us = data["latency_us"]
            self.iter_evaluated += 1
            return None
        if kind == "llm_call":
            self.llm_calls += 1
            self.llm_usd += data.get("cost_usd") or 0.0
            return None
        if kind == "iteration_start":
            self.stage, self.iteration = data["stage"], data["iteration"]
            self.iter_proposed = self.iter_evaluated = 0
            return f"iteration {self.iteration} ({self.stage}): expanding {len(data['beam'])} beam candidates"
        if kind == "iteration_done":
            self.stage, self.iteration, self.beam = data["stage"], data["iteration"], list(data["beam"])
            if data.get("replayed"):
                return f"iteration {self.iteration} ({self.stage}): already complete (resumed)"
            best = self._node(data.get("best"))
            mark = "improved" if data.get("improved") else "no improvement"
            return (f"iteration {self.iteration} ({self.stage}) done: best {self._describe(best)} ({mark}); "
                    f"{self.evaluations} evaluations, {self.failed} failed"
                    + (f"; LLM {self.llm_calls} calls ${self.llm_usd:.2f}" if self.llm_calls else ""))
        if kind == "stage_done":
            return f"{data['stage']} search stopped: {data['reason']}"
        if kind == "budget_exhausted":
            return f"[yellow]budget:[/] {data['message']}"
        if kind == "llm_error":
            return f"[red]LLM call failed:[/] {data['error']}"
        if kind == "evaluator_error":
            return f"[red]evaluation of #{data['id']} failed:[/] {data['error']}"
        if kind == "revalidating":
            return f"re-validating #{data['id']} on fresh seeds {data['seeds']}"
        return None

    def candidate_progress(self) -> str:
        """``iteration 2: 3/8 candidates evaluated, best 1.80x`` (the denominator grows as candidates are
        proposed; the best is the run's so far)."""
        total = max(self.iter_proposed, self.iter_evaluated)
        best = (f", best {speedup(self.baseline_us / self.best_us)}" if self.baseline_us and self.best_us else "")
        return f"iteration {self.iteration}: {self.iter_evaluated}/{total} candidates evaluated{best}"

    # ------------------------------------------------------------------ rendering
    def _node(self, node_id: int | None) -> Node | None:
        if node_id is None or self.run is None:
            return None
        return self.run.session.nodes.get(node_id)

    def _describe(self, node: Node | None) -> str:
        if node is None or not node.correct:
            return "-"
        speed = f" ({speedup(self.baseline_us / node.latency_us)})" if self.baseline_us else ""
        return f"#{node.id} {_us(node.latency_us)}{speed}"

    def _render(self):
        elapsed = time.monotonic() - self._started
        head = Text.from_markup(
            f"[bold]iteration {self.iteration}[/] ({self.stage or 'baseline'})  "
            + (f"{self.iter_evaluated}/{max(self.iter_proposed, self.iter_evaluated)} candidates evaluated  "
               if self.iteration else "")
            + (f"best {speedup(self.baseline_us / self.best_us)}  " if self.baseline_us and self.best_us else "")
            + f"evaluations {self.evaluations} ({self.failed} failed)  "
            + (f"LLM {self.llm_calls} calls ${self.llm_usd:.2f}  " if self.llm_calls else "")
            + f"{elapsed:,.0f} s")
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=False)
        for col, width in (("", 2), ("candidate", 9), ("origin", 8), ("latency", 12), ("speedup", 7),
                           ("evidence", 8)):
            table.add_column(col, no_wrap=True, min_width=width)
        table.add_column("plan", no_wrap=True, overflow="ellipsis", max_width=60)
        for rank, node_id in enumerate(self.beam, 1):
            node = self._node(node_id)
            if node is None:
                continue
            speed = speedup(self.baseline_us / node.latency_us) if self.baseline_us and node.latency_us else "-"
            plan = (node.plan or "").strip().splitlines()[0] if node.plan else ""
            table.add_row(str(rank), f"#{node.id}", node.origin, _us(node.latency_us), speed, node.evidence, plan)
        return Group(head, table)


def win_lines(result: Any) -> list[str]:
    """Whether a sim speedup is beyond the cost model's error (store/win.py), and which cost model it is."""
    lines = []
    win = getattr(result, "win", None)
    if win is not None and result.speedup_low is not None:
        interval = f"true speedup {result.speedup_low:.2f}x-{result.speedup_high:.2f}x at 90% ({result.win_reason})"
        if win == "certain win":
            lines.append(f"[bold green]certain win[/]: {interval}")
        else:
            lines.append(f"[bold yellow]{win}[/]: the estimated speedup may not be real on hardware: {interval}; "
                         "measure both kernels on a NeuronCore (autocomp eval --backend neuron)")
    cal = getattr(result, "calibration", None)
    if result.evidence == "sim" and cal:
        lines.append(f"cost model: calibration {cal}")
    return lines


def summary_lines(result: Any) -> list[str]:
    """The final report of a run, as rich-markup lines."""
    lines = [f"[bold]{result.problem}[/]: run {result.run_id} {result.status} ({result.stop_reason})"]
    if result.best_candidate is not None and result.best_latency_us:
        roof = (f", {result.roofline_percent:.1f}% of roofline ({result.evidence})"
                if result.roofline_percent is not None else "")
        lines.append(f"best: candidate #{result.best_candidate}, {latency(result.best_latency_us)} "
                     f"({result.evidence}), {speedup(result.speedup)} over the baseline's "
                     f"{latency(result.baseline_latency_us)} ({result.evidence}){roof}")
        lines += win_lines(result)
        if result.revalidation_note:
            lines.append(f"check: {result.revalidation_note}")
        lines.append(f"kernel: {result.best_kernel_path}")
    else:
        lines.append("no correct candidate beyond the baseline")
    spend = f"; LLM {result.llm_calls} calls, ${result.llm_cost_usd:.2f}" if result.agent == "llm" else ""
    lines.append(f"{result.iterations} iterations, {result.evaluations} evaluations, "
                 f"{result.duplicates_skipped} duplicates skipped{spend}")
    # Printed commands must work when copied: a runs directory other than the default is named in them.
    from autocomp.settings import runs_dir_flag

    flag = runs_dir_flag(Path(result.run_dir).parent)
    lines.append(f"run directory: {result.run_dir}  (report: autocomp report {result.run_id}{flag})")
    if result.status == "interrupted":
        lines.append(f"continue with: autocomp optimize --resume {result.run_id}{flag}")
    return lines
