"""Explore stored runs in a notebook.

    import autocomp
    run = autocomp.open_run("runs/20261122-181500-matmul-1a2b")   # or an id / unique prefix
    run.candidates                    # pandas DataFrame, one row per candidate
    run.best, run.lineage(run.best)   # candidates render as HTML in Jupyter
    run.diff(run.baseline, run.best)  # side-by-side diff
    run.profile(run.best)             # engine timeline and utilisation
    run.reevaluate(run.best, target=name)   # on another target (a name from autocomp.targets)
    run.plot()                        # best speedup so far over the evaluations
    run.win                           # is the best kernel's estimated win beyond the cost model's error?

Reading never blocks a running search; ``reevaluate`` needs the write lock.
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from autocomp.store import Candidate, Evaluation, RunReader, RunStore, resolve_run
from autocomp.store.locate import effective_status
from autocomp.store.reader import SEARCH
from autocomp.units import latency, speedup

CandidateRef = int | str | Candidate | Any


def open_run(path: str | Path, runs_dir: str | Path | None = None) -> Run:
    """Open a stored run for exploration: a run directory, a run id or an unambiguous prefix of one (looked up
    in ``runs_dir``, else ``$AUTOCOMP_RUNS``, else ``runs/``)."""
    from autocomp.settings import default_runs_dir

    return Run(RunReader.open_readonly(resolve_run(path, runs_dir if runs_dir is not None else default_runs_dir())))


def _frame(rows: list[dict], index: str | None = None):
    import pandas as pd

    df = pd.DataFrame(rows)
    for col in ("parent_id", "llm_call_id", "best_candidate", "candidate_id"):
        if col in df:
            df[col] = df[col].astype("Int64")  # nullable ints, not floats with NaN
    for col in ("created", "completed"):
        if col in df:
            df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df.set_index(index) if index and not df.empty else df


class CandidateView:
    """One candidate of a run: its fields, source, evaluation and plan; renders as HTML."""

    def __init__(self, run: Run, cand: Candidate):
        self._run = run
        self.record = cand

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    @property
    def source(self) -> str:
        return self._run.reader.source(self.record.id)

    @property
    def evaluation(self) -> dict | None:
        """The full EvalResult of the search evaluation, as a dict."""
        ev = self._run.reader.evaluation(self.record.id)
        return ev.result if ev else None

    def profile(self, *, reprofile: bool = True) -> StoredProfile:
        return self._run.profile(self.record.id, reprofile=reprofile)

    def __repr__(self) -> str:
        c = self.record
        lat = latency(c.latency_us, "-")
        spd = f", {c.speedup:.2f}x" if c.speedup is not None else ""
        return f"<Candidate #{c.id} it={c.iteration} {c.origin} {c.status} {lat}{spd}>"

    def _repr_html_(self) -> str:
        c = self.record
        fields = [("iteration", c.iteration), ("origin", c.origin), ("parent", c.parent_id), ("status", c.status),
                  ("latency", latency(c.latency_us)),
                  ("speedup", speedup(c.speedup)), ("evidence", c.evidence)]
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{escape(str(v))}</td>"
                       "</tr>" for k, v in fields)
        plan = (f"<p><b>plan</b></p><div style='white-space:pre-wrap'>{escape(c.plan)}</div>" if c.plan else "")
        reason = (self.evaluation or {}).get("reason")
        reason_html = f"<p><b>reason</b>: {escape(str(reason))}</p>" if reason else ""
        return (f"<div><b>candidate #{c.id}</b><table>{rows}</table>{reason_html}{plan}<details><summary>source"
                f"</summary><pre>{escape(self.source)}</pre></details></div>")


class Diff:
    """A diff between two candidates' kernels: ``str()`` is unified, Jupyter shows it side by side."""

    def __init__(self, a: CandidateView, b: CandidateView):
        self.a, self.b = a, b

    @property
    def text(self) -> str:
        return "".join(difflib.unified_diff(self.a.source.splitlines(keepends=True),
                                            self.b.source.splitlines(keepends=True),
                                            fromfile=f"#{self.a.id}", tofile=f"#{self.b.id}"))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text or f"<no difference between #{self.a.id} and #{self.b.id}>"

    def _repr_html_(self) -> str:
        from autocomp.report.page import side_by_side_diff

        table = side_by_side_diff(self.a.source, self.b.source, f"#{self.a.id}", f"#{self.b.id}")
        return f'<div class="autocomp-diff"><style>{SCOPED_DIFF_CSS}</style>{table}</div>'


# The notebook's diff styles, scoped under .autocomp-diff and specific enough to beat the front end's own table
# rules (JupyterLab right-aligns cells, fixes the table layout and stripes rows): the diff relies on none of them.
SCOPED_DIFF_CSS = """
.autocomp-diff{overflow-x:auto;max-width:100%}
.autocomp-diff table.diff{font-family:Menlo,Consolas,monospace;font-size:12px;width:100%;table-layout:auto;
border-collapse:collapse;border:0;margin:0;display:table}
.autocomp-diff table.diff tr,.autocomp-diff table.diff tbody tr:nth-child(odd){background:transparent}
.autocomp-diff table.diff td,.autocomp-diff table.diff th{padding:0 4px;border:0;white-space:pre-wrap;
vertical-align:top;text-align:left;max-width:none;line-height:1.4;font-size:12px;color:#222}
.autocomp-diff table.diff th{font-weight:bold;background:#f4f4f4}
.autocomp-diff table.diff td.diff_header{color:#888;text-align:right;white-space:nowrap}
.autocomp-diff table.diff td.diff_next{display:none}
.autocomp-diff .diff_add{background:#e6ffec}.autocomp-diff .diff_chg{background:#fff5b1}
.autocomp-diff .diff_sub{background:#ffebe9}
"""


class EvaluationView:
    """One recorded evaluation (what ``Run.reevaluate`` returns): its fields, a one-line repr and a compact HTML
    table; ``.result`` is the full EvalResult as a dict."""

    def __init__(self, evaluation: Evaluation):
        self.record = evaluation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    def __repr__(self) -> str:
        e = self.record
        lat = f" {latency(e.latency_us)}" if e.latency_us is not None else ""
        reason = (e.reason or "").strip().splitlines()
        why = f": {reason[0][:100]}" if reason and e.status != "correct" else ""
        return f"<Evaluation #{e.candidate_id} {e.purpose} {e.status}{lat} ({e.evidence or '?'}){why}>"

    def _repr_html_(self) -> str:
        e = self.record
        fields = [("candidate", f"#{e.candidate_id}"), ("purpose", e.purpose), ("status", e.status),
                  ("latency", latency(e.latency_us)),
                  ("evidence", e.evidence or "—"), ("target", e.target or "—"),
                  ("calibration", e.result.get("calibration") or "built-in")]
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{escape(str(v))}</td>"
                       "</tr>" for k, v in fields)
        reason = (e.reason or "").strip()
        more = (f"<details><summary>reason</summary><pre style='white-space:pre-wrap'>{escape(reason)}</pre>"
                "</details>") if reason and reason != "ok" else ""
        return f"<div class='autocomp-evaluation'><table>{rows}</table>{more}</div>"


class StoredProfile:
    """A candidate's cost-model profile as stored in profile.json: latency, engines, timeline."""

    def __init__(self, candidate_id: int, record: dict | None, note: str | None = None):
        self.candidate_id = candidate_id
        self.record = record or {}
        self.note = note

    @property
    def latency_us(self) -> float | None:
        return self.record.get("latency_us")

    @property
    def summary(self) -> dict:
        """neuron-profile-shaped summary fields."""
        return self.record.get("summary", {})

    @property
    def engines(self):
        """Per-engine active time, utilisation and instruction count (a DataFrame)."""
        return _frame([{"engine": k, **v} for k, v in self.record.get("engines", {}).items()], "engine")

    def timeline_svg(self) -> str:
        from autocomp.perf.timeline import gantt_svg

        return gantt_svg(self.record.get("timeline", {}), self.record.get("makespan_ns", 0.0),
                         title=f"candidate {self.candidate_id} engine timeline")

    def __repr__(self) -> str:
        if not self.record:
            return f"<no profile for candidate #{self.candidate_id}: {self.note}>"
        return (f"<Profile #{self.candidate_id} {latency(self.latency_us)} on {self.record.get('target')} "
                f"(bound by {self.record.get('roofline', {}).get('bound_by', '?')})>")

    def _repr_html_(self) -> str:
        if not self.record:
            return f"<p>No profile for candidate #{self.candidate_id}: {escape(str(self.note))}</p>"
        from autocomp.perf.engines import LABELS, LANES
        from autocomp.report.svg import PALETTE, bar_chart

        engines = [lane.id for lane in LANES if lane.id in self.record.get("engines", {})]
        util = bar_chart([LABELS[e] for e in engines],
                         [{"name": "utilisation", "color": PALETTE[0],
                           "values": [self.record["engines"][e]["utilisation"] for e in engines]}], unit="%")
        hints = "".join(f"<li>{escape(h)}</li>" for h in self.record.get("hints", [])[:6])
        note = f"<p><i>{escape(self.note)}</i></p>" if self.note else ""
        return (f"<div><b>{escape(repr(self))}</b>{note}{self.timeline_svg()}{util}<ul>{hints}</ul>"
                "<p><small>Estimated by autocomp's cost model (evidence: sim).</small></p></div>")


class Run:
    """A stored run, read-only; every property reads the run as it is now."""

    def __init__(self, reader: RunReader):
        self.reader = reader

    @property
    def id(self) -> str:
        return self.reader.run_id

    @property
    def path(self) -> Path:
        return self.reader.root

    @property
    def info(self):
        return self.reader.info

    @property
    def status(self) -> str:
        return effective_status(self.reader)

    @property
    def config(self) -> dict:
        return self.reader.config()

    # ------------------------------------------------------------ tables
    @property
    def candidates(self):
        """One row per candidate (index: id): lineage, origin, status, latency, speedup, evidence, plan."""
        rows = [{k: v for k, v in vars(c).items() if k != "meta"} for c in self.reader.candidates()]
        return _frame(rows, "id")

    @property
    def evaluations(self):
        rows = [{k: v for k, v in vars(e).items() if k != "result"} for e in self.reader.evaluations()]
        return _frame(rows, "id")

    @property
    def shapes(self):
        """Problems over several shapes: one row per (candidate, declared shape) of the search evaluations, with
        the latency, the baseline's latency, the speedup and whether it is slower than the baseline there
        (docs/evaluation.md#problems-over-several-shapes); empty for a problem with one shape."""
        rows = []
        for e in self.reader.evaluations(purpose=SEARCH):
            slower = set(e.result.get("regressed_shapes") or [])
            for s in e.result.get("shapes") or []:
                if isinstance(s, dict):
                    rows.append({"candidate": e.candidate_id, "shape": s.get("name"), "weight": s.get("weight"),
                                 "status": s.get("status"), "latency_us": s.get("latency_us"),
                                 "baseline_latency_us": s.get("baseline_latency_us"), "speedup": s.get("speedup"),
                                 "slower_than_baseline": s.get("name") in slower})
        return _frame(rows)

    @property
    def llm_calls(self):
        return _frame([vars(c) for c in self.reader.llm_calls()], "id")

    def spend(self, by: str | None = "phase"):
        """LLM spend grouped by ``"phase"``, ``"model"`` or in total (``None``), as a DataFrame."""
        return _frame([vars(s) for s in self.reader.spend(by)], "key")

    @property
    def events(self) -> list[dict]:
        return self.reader.events()

    # ------------------------------------------------------------ candidates
    def candidate(self, cand: CandidateRef) -> CandidateView:
        return CandidateView(self, self.reader.candidate(_cand_id(cand)))

    __getitem__ = candidate

    @property
    def best(self) -> CandidateView | None:
        best = self.reader.best()
        return CandidateView(self, best) if best else None

    @property
    def baseline(self) -> CandidateView | None:
        base = self.reader.baseline()
        return CandidateView(self, base) if base else None

    def lineage(self, cand: CandidateRef) -> list[CandidateView]:
        """Parents from the root down to ``cand``."""
        return [CandidateView(self, c) for c in self.reader.lineage(_cand_id(cand))]

    def diff(self, a: CandidateRef, b: CandidateRef) -> Diff:
        return Diff(self.candidate(a), self.candidate(b))

    def profile(self, cand: CandidateRef, *, reprofile: bool = True) -> StoredProfile:
        """The stored cost-model profile of ``cand``; re-profiled through the sandboxed evaluator when none with a
        timeline is stored."""
        from autocomp.report.reprofile import candidate_profile

        cand_id = _cand_id(cand)
        record, note = candidate_profile(self.reader, cand_id, reprofile=reprofile)
        return StoredProfile(cand_id, record, note)

    # ------------------------------------------------------------ actions
    def reevaluate(self, cand: CandidateRef, target: str | None = None, *, backend: str = "sim",
                   evaluator: Callable[[Path, str, str], Any] | None = None,
                   calibration: str | Path | None = None, progress: bool = True) -> EvaluationView:
        """Evaluate ``cand`` again on ``target`` (default: the run's problem's target) and record it beside its
        search result.

        The result is stored as purpose ``reevaluate:<backend>:<target>`` (replacing an
        earlier one; ``...:cal-<sha256 prefix>`` with a calibration). ``evaluator(problem_dir,
        source, target)`` returning an EvalResult or its dict replaces autocomp's sandboxed
        evaluator (``autocomp.evaluate``). ``calibration``: a cost-model calibration file for
        the sim backend, or ``"run"`` for the one the run was started with (default: the
        built-in cost model); the hw backend ignores it. ``progress``: say on stderr what is being
        evaluated and how long it took (it takes seconds).
        """
        cand_id = _cand_id(cand)
        problem_dir = self.reader.problem_dir()
        if problem_dir is None:
            raise RuntimeError(f"run {self.id} has no problem snapshot (problem/) to evaluate against")
        if target is None:
            from autocomp.problem import Problem

            target = Problem.load(problem_dir, self.reader.problem_variant).spec.target
        source = self.reader.source(cand_id)
        cal = self._calibration(calibration) if backend == "sim" else None
        started = time.monotonic()
        if progress:
            print(f"re-evaluating #{cand_id} on {target} ({backend})…", file=sys.stderr, flush=True)
        if evaluator is None:
            result = _default_evaluator(problem_dir, source, target, backend, cal, self.reader.problem_variant)
        else:
            result = evaluator(problem_dir, source, target)
        purpose = f"reevaluate:{backend}:{target}" + (f":cal-{cal.sha256[:12]}" if cal is not None else "")
        if progress:
            print(f"re-evaluated #{cand_id} in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        with RunStore.open(self.path) as store:
            return EvaluationView(store.record_evaluation(cand_id, result, purpose=purpose, replace=True))

    def _calibration(self, calibration: str | Path | None):
        """A CalibrationSource from a path, or from the run's own copy for ``"run"``."""
        from autocomp.perf.calibration_source import CalibrationSource, read_calibration_source

        if calibration is None:
            return None
        if str(calibration) == "run":
            text = self.reader.calibration_text()
            if text is None:
                raise RuntimeError(f"run {self.id} was started without a calibration (no calibration.toml)")
            from autocomp.search.calibration import recorded_path

            name = Path(recorded_path(self.config) or "calibration.toml").name
            source = CalibrationSource(name=name, text=text)
            source.parse(str(self.path / "calibration.toml"))
            return source
        return read_calibration_source(calibration)

    @property
    def win(self):
        """Whether the best kernel's estimated speedup over the baseline is beyond the cost model's error
        (a ``WinVerdict``: ``label``, ``low``/``high`` of the true speedup), or None (hardware evidence, or
        the baseline is the best). A win that is not certain "needs hardware confirmation"."""
        from autocomp.store.win import run_win

        return run_win(self.reader)

    def speedup_points(self) -> list[tuple[int, float, float | None]]:
        """(evaluation number, best speedup so far, this evaluation's speedup or None) for each search evaluation
        in the order it was recorded; the numbers start at 1."""
        cands = {c.id: c for c in self.reader.candidates()}
        out, best = [], None
        for n, ev in enumerate(self.reader.evaluations(purpose="search"), start=1):
            spd = cands[ev.candidate_id].speedup if ev.candidate_id in cands and ev.status == "correct" else None
            if spd is not None and (best is None or spd > best):
                best = spd
            out.append((n, best if best is not None else float("nan"), spd))
        return out

    def plot(self, *, backend: str = "auto"):
        """Best speedup so far (and each correct candidate's) over the search's evaluations: a matplotlib Figure
        when matplotlib is installed (``backend="auto"``/``"matplotlib"``), else (or with ``"svg"``) an object
        that renders as SVG in Jupyter."""
        points = self.speedup_points()
        if backend not in ("auto", "matplotlib", "svg"):
            raise ValueError(f"plot backend {backend!r}: use 'auto', 'matplotlib' or 'svg'")
        if backend != "svg":
            try:
                import matplotlib.pyplot as plt
            except ImportError:
                if backend == "matplotlib":
                    raise
            else:
                fig, ax = plt.subplots(figsize=(7, 3.5))
                ax.step([n for n, b, _ in points], [b for _, b, _ in points], where="post", label="best so far")
                ax.scatter([n for n, _, s in points if s is not None], [s for _, _, s in points if s is not None],
                           s=12, alpha=0.5, label="correct candidates")
                ax.set_xlabel("evaluation")
                ax.set_ylabel("speedup over the baseline (x)")
                ax.set_title(f"run {self.id}")
                ax.legend()
                plt.close(fig)  # returned, not also drawn by pyplot's own display
                return fig
        return SpeedupPlot(points, self.id)

    def report(self, out: str | Path | None = None, *, reprofile: bool = True) -> str | Path:
        """The HTML report: written to ``out`` if given, else returned as a string."""
        from autocomp.report import render_report, write_report

        if out is not None:
            return write_report(self.reader, out, reprofile=reprofile)
        return render_report(self.reader, reprofile=reprofile)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        best = self.reader.best()
        best_txt = f", best #{best.id} {best.speedup or 0:.2f}x" if best else ""
        win = self.win if best else None
        if win is not None and not win.certain:
            best_txt += f" ({win.label}: {win.low:.2f}x-{win.high:.2f}x)"
        return f"<Run {self.id} {self.info.problem} {self.status}{best_txt}>"

    def _repr_html_(self) -> str:
        from autocomp.report.data import load_report_data
        from autocomp.report.page import progress_chart, summary_table

        data = load_report_data(self.reader, reprofile=False)
        return f"<div>{summary_table(data)}{progress_chart(data)}</div>"


class SpeedupPlot:
    """``Run.plot`` without matplotlib: an inline SVG chart (``.svg``) that Jupyter renders."""

    def __init__(self, points: list[tuple[int, float, float | None]], run_id: str):
        self.points = points
        self.run_id = run_id

    @property
    def svg(self) -> str:
        from autocomp.report.svg import PALETTE, line_chart

        best = [(n, b, f"evaluation {n}: best {b:.2f}x") for n, b, _ in self.points if b == b]  # b == b: not NaN
        each = [(n, s, f"evaluation {n}: {s:.2f}x") for n, _, s in self.points if s is not None]
        return line_chart([{"name": "best so far", "color": PALETTE[0], "step": True, "points": best},
                           {"name": "correct candidates", "color": PALETTE[4], "dots_only": True, "points": each}],
                          x_label="evaluation", y_label="speedup over the baseline (x)", css_class="chart speedup")

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return f"<div>{self.svg}</div>"

    def __repr__(self) -> str:
        best = max((b for _, b, _ in self.points if b == b), default=None)
        return f"<speedup plot of run {self.run_id}: {len(self.points)} evaluations, best {best or 0:.2f}x>"


def _default_evaluator(problem_dir: Path, source: str, target: str, backend: str = "sim",
                       calibration: Any = None, variant: str | None = None) -> Any:
    """autocomp's sandboxed evaluator, uncached so a re-evaluation really runs again; the report re-profiles
    through the same path (autocomp.evaluate.stored)."""
    from autocomp.evaluate.stored import StoredEvaluator

    with StoredEvaluator(problem_dir, backend=backend, target=target, calibration=calibration,
                         variant=variant) as evaluator:
        return evaluator.evaluate(source)


def _cand_id(cand: CandidateRef) -> int:
    if isinstance(cand, (CandidateView, Candidate)):
        return int(cand.id)
    if isinstance(cand, str):
        return int(cand.lstrip("#"))
    return int(cand)
