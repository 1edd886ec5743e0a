"""`autocomp runs`: list, show, diff and export stored runs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autocomp.cli._common import OLD_DIR_OPTION, RUNS_DIR_OPTION, console, fail, json_errors, runs_dir_of
from autocomp.cli._inputs import damaged_value, refuse_run_files
from autocomp.settings import runs_dir_flag
from autocomp.units import latency, speedup

runs_app = typer.Typer(help="Browse stored optimization runs (runs/<run-id>/).", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


@contextmanager
def _open(run: str, runs_dir: Path | None, old_dir: Path | None = None) -> Iterator:
    """A read-only RunReader for what the user typed; a run that cannot be opened or read (missing, corrupt,
    from a newer autocomp) ends the command with one line, and nothing in it is changed."""
    from autocomp.store import RunReader, StoreError, resolve_run

    runs_dir = runs_dir_of(runs_dir, old_dir)
    try:
        reader = RunReader.open_readonly(resolve_run(run, runs_dir))
    except StoreError as e:
        fail(str(e))
    with reader:
        try:
            yield reader
        except StoreError as e:
            fail(str(e))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            fail(damaged_value(reader.root, e))


def _candidate_id(run, text: str) -> int:
    from autocomp.store import StoreError

    try:
        cand_id = int(str(text).lstrip("#"))
        if not 0 <= cand_id < 2**63:  # SQLite's integer range; beyond it no candidate can exist
            raise ValueError(text)
        run.candidate(cand_id)
    except ValueError:
        fail(f"{text!r} is not a candidate id; give a number such as 7 (see `autocomp runs show "
             f"{run.root.name}{runs_dir_flag(run.root.parent)}`)")
    except StoreError as e:
        fail(str(e))
    return cand_id


def _kernel_path(cand_id: int) -> str:
    from autocomp.store.reader import CANDIDATES_DIR, candidate_dirname

    return f"{CANDIDATES_DIR}/{candidate_dirname(cand_id)}/kernel.py"


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M") if t else ""


def _shape_results(r, c) -> tuple[list[dict], list[str]]:
    """A candidate's per-shape results and the shapes where it is slower than the baseline, from its search
    evaluation; ([], []) for a problem with one shape, or a run written before shapes existed."""
    evaluation = r.evaluation(c.id) if c is not None else None
    if evaluation is None:
        return [], []
    keep = ("name", "weight", "params", "status", "latency_us", "baseline_latency_us", "speedup")
    shapes = [{k: s.get(k) for k in keep} for s in evaluation.result.get("shapes") or [] if isinstance(s, dict)]
    regressed = [str(n) for n in evaluation.result.get("regressed_shapes") or []]
    return shapes, regressed


def _print_shapes(r, best, base) -> None:
    """The per-shape table of the best kernel (or the baseline's latencies when nothing beat it)."""
    shapes, regressed = _shape_results(r, best)
    base_shapes, _ = _shape_results(r, base)
    if not shapes and not base_shapes:
        return
    base_us = {s["name"]: s["latency_us"] for s in base_shapes}
    console.print("\n[bold]per shape[/] (latency of the best kernel, speedup over the baseline)")
    for s in shapes or base_shapes:
        baseline_us = s.get("baseline_latency_us") or base_us.get(s["name"])
        params = ", ".join(f"{k}={v}" for k, v in (s.get("params") or {}).items())
        slower = "  SLOWER than the baseline" if s["name"] in regressed else ""
        console.print(f"  {s['name']:<16} {params:<24} weight {s.get('weight') or 1:g}  baseline "
                      f"{latency(baseline_us):>13}  best {latency(s.get('latency_us') if shapes else None):>13}  "
                      f"{speedup(s.get('speedup') if shapes else None)}{slower}", highlight=False, markup=False)


def _print_device_profiles(r) -> None:
    """The Neuron Explorer profiles the run kept (--hw-profile), where they are, and how to open one."""
    from autocomp.store.device_profiles import NEFF_FILE, NTFF_FILE, run_device_profiles

    rows = run_device_profiles(r)
    if not rows:
        return
    console.print("\n[bold]device profiles[/] (Neuron Explorer captures of hardware measurements)")
    for row in rows:
        shape = f" {row['shape']}" if row.get("shape") else ""
        where = (row["dir"] if row.get("open") else f"not captured: {row['error']}" if row.get("error")
                 else row.get("note") or "not kept")
        console.print(f"  #{row['candidate']:<4} {row['purpose']}{shape}: {where}", highlight=False, markup=False,
                      soft_wrap=True)
    if any(row.get("open") for row in rows):
        console.print(f"  open one in Neuron Explorer: neuron-explorer view -n DIR/{NEFF_FILE} -s DIR/{NTFF_FILE}",
                      highlight=False, markup=False, soft_wrap=True)


def _show_json(r, status: str) -> dict:
    """`runs show --json`: what the text shows, as data."""
    from autocomp.store.device_profiles import run_device_profiles
    from autocomp.store.tiers import tier_rows
    from autocomp.store.win import describe, run_win

    info, best, base = r.info, r.best(), r.baseline()

    def cand(c) -> dict | None:
        if c is None:
            return None
        shapes, regressed = _shape_results(r, c)
        return {"id": c.id, "iteration": c.iteration, "origin": c.origin, "status": c.status,
                "latency_us": c.latency_us, "speedup": c.speedup, "evidence": c.evidence, "plan": c.plan,
                "shapes": shapes, "regressed_shapes": regressed}

    win = run_win(r) if best else None
    return {"run_id": info.run_id, "run_dir": str(r.root), "problem": info.problem, "target": info.target,
            "status": status, "status_reason": info.status_reason, "counts": r.counts(),
            "llm_cost_usd": r.total_cost_usd(), "baseline": cand(base), "best": cand(best),
            "win": describe(win) if win is not None else None,
            "beams": [{"iteration": b.iteration, "beam": list(b.beam)} for b in r.beams()],
            "lineage": [cand(c) for c in r.lineage(best.id)] if best else [],
            "tiers": tier_rows(r),  # sim vs hw per candidate (two-tier runs measure some on hardware)
            "device_profiles": run_device_profiles(r),  # Neuron Explorer captures kept in profiles/ (--hw-profile)
            "spend": {by: [{"key": s.key, "calls": s.calls, "cache_hits": s.cache_hits, "failures": s.failures,
                            "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                            "cost_usd": s.cost_usd} for s in r.spend(by)] for by in ("phase", "model")}}


@runs_app.command("list")
def list_runs(runs_dir: Path = RUNS_DIR_OPTION, as_json: bool = JSON_OPTION, old_dir: Path = OLD_DIR_OPTION) -> None:
    """Table of runs: id, problem, status, best speedup, evaluations, LLM spend, date."""
    from autocomp.store import list_runs as summaries

    json_errors(as_json)
    runs_dir = runs_dir_of(runs_dir, old_dir)
    if not runs_dir.is_dir():
        fail(f"{runs_dir}: no such directory; pass --runs-dir with the directory that holds your runs")
    rows = summaries(runs_dir)
    if as_json:
        typer.echo(json.dumps([_summary_json(r) for r in rows], indent=2))
        return
    if not rows:
        console.print(f"no runs in {runs_dir}/")
        return
    table = Table(box=None, header_style="bold")
    for col, justify in (("run", "left"), ("problem", "left"), ("status", "left"), ("best", "right"),
                         ("evals", "right"), ("LLM $", "right"), ("created (UTC)", "left")):
        table.add_column(col, justify=justify, no_wrap=col == "run")
    for r in rows:
        best = speedup(r.best_speedup) + (f" ({r.evidence})" if r.evidence and r.best_speedup else "")
        table.add_row(r.run_id, r.problem, r.status if not r.error else f"[red]{r.status}[/]", best,
                      str(r.evaluations), f"{r.llm_cost_usd:.2f}", _date(r.created))
    # Piped output gets a wide console so run ids are never truncated.
    out = console if console.is_terminal else Console(width=200)
    out.print(table)
    for r in rows:  # one line per unreadable run, after the table of the readable ones
        if r.error:
            out.print(f"[red]{r.run_id}[/]: {escape(r.error)}", highlight=False, soft_wrap=True)


def _summary_json(r) -> dict:
    from dataclasses import asdict, is_dataclass

    row = asdict(r) if is_dataclass(r) else dict(vars(r))
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in row.items()}


@runs_app.command("show")
def show(run: str = typer.Argument(..., help="Run id, unique prefix, or path."), runs_dir: Path = RUNS_DIR_OPTION,
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
         old_dir: Path = OLD_DIR_OPTION) -> None:
    """Beam per iteration, the best kernel's lineage with plans, and LLM spend by phase and model."""
    from autocomp.store import effective_status

    json_errors(as_json)
    with _open(run, runs_dir, old_dir) as r:
        if as_json:
            typer.echo(json.dumps(_show_json(r, effective_status(r)), indent=2))
            return
        info, best, base = r.info, r.best(), r.baseline()
        console.print(f"[bold]{info.run_id}[/]  problem {info.problem}  target {info.target or '?'}  "
                      f"status {effective_status(r)}" + (f" ({info.status_reason})" if info.status_reason else ""),
                      highlight=False)
        counts = r.counts()
        console.print(f"{counts['candidates']} candidates, {counts['evaluations']} evaluated, "
                      f"{counts['llm_calls']} LLM calls, ${r.total_cost_usd():.4f}", highlight=False)
        from autocomp.store.reader import HW

        base_hw, best_hw = (r.evaluation(c.id, HW) if c else None for c in (base, best))
        if base:
            console.print(f"baseline #{base.id}: {latency(base.latency_us)} ({base.status})"
                          + (f", {latency(base_hw.latency_us)} on hardware" if base_hw else ""), highlight=False)
        if best and best_hw is not None and best_hw.status == "correct":  # a measurement outranks any estimate
            hw_speedup = base_hw.latency_us / best_hw.latency_us if base_hw and base_hw.latency_us else None
            console.print(f"best #{best.id}: {latency(best_hw.latency_us)}, {speedup(hw_speedup)} "
                          f"(hw; {latency(best.latency_us)} in sim)", highlight=False)
        elif best:
            console.print(f"best #{best.id}: {latency(best.latency_us)}, "
                          f"{speedup(best.speedup)} ({best.evidence or '?'})", highlight=False)
            from autocomp.store.win import describe, run_win

            win = run_win(r)
            if win is not None:
                console.print(f"  {describe(win)}", highlight=False, markup=False)
        _print_shapes(r, best, base)
        from autocomp.search.calibration import recorded_path

        calibration = r.calibration_text() is not None and recorded_path(r.config())
        if calibration:
            console.print(f"cost model: calibration {calibration} (copy in calibration.toml)", highlight=False,
                          markup=False)
        console.print("\n[bold]beam per iteration[/]")
        beams = r.beams()
        if not beams:
            console.print("  no iteration completed yet")
        for b in beams:
            members = []
            for cid in b.beam:
                c = r.candidate(cid)
                members.append(f"#{cid} {latency(c.latency_us)}")
            console.print(f"  {b.iteration:>3}: {', '.join(members)}", highlight=False)
        if best:
            console.print("\n[bold]lineage of the best kernel[/]")
            for c in r.lineage(best.id):
                console.print(f"  #{c.id} it {c.iteration} {c.origin:<8} {c.status:<13} "
                              f"{latency(c.latency_us):>13} {speedup(c.speedup)}", highlight=False)
                if c.plan:
                    for line in c.plan.strip().splitlines():
                        console.print(f"      {line}", highlight=False, markup=False)
        from autocomp.store.tiers import measured, tier_rows

        tiers = tier_rows(r)
        if measured(tiers):
            console.print("\n[bold]sim vs hw per candidate[/] (two-tier: sim estimates every candidate, hardware "
                          "measures the selected ones)")
            for row in tiers:
                hw = (f"{latency(row['hw_latency_us']):>13} hw" if row["hw_status"] == "correct"
                      else f"{row['hw_status'] or 'not measured':>13}")
                if row["hw_status"] == "correct" and row["hw_core"] is not None:  # where it was measured
                    node = f"{row['hw_node_ip']} ({(row['hw_node_id'] or '')[:8]}) " if row["hw_node_ip"] else ""
                    hw += f" on {node}core {row['hw_core']}"
                sim = f"{latency(row['sim_latency_us']):>13}"
                console.print(f"  #{row['id']:<4} it {row['iteration']:<3} sim {sim} ({row['sim_status']})  {hw}",
                              highlight=False)
        _print_device_profiles(r)
        for by in ("phase", "model"):
            spend = r.spend(by)
            if spend:
                console.print(f"\n[bold]LLM spend by {by}[/]")
                for s in spend:
                    console.print(f"  {s.key:<32} {s.calls:>4} calls {s.cache_hits:>4} cached {s.failures:>3} failed "
                                  f"{s.input_tokens:>9,} in {s.output_tokens:>8,} out  ${s.cost_usd:.4f}",
                                  highlight=False, markup=False)




@runs_app.command("diff")
def diff(run: str = typer.Argument(..., help="Run id, unique prefix, or path."),
         cand_a: str = typer.Argument(..., help="First candidate id."),
         cand_b: str = typer.Argument(..., help="Second candidate id."), runs_dir: Path = RUNS_DIR_OPTION,
         old_dir: Path = OLD_DIR_OPTION) -> None:
    """Unified diff between the kernels of two candidates."""
    with _open(run, runs_dir, old_dir) as r:
        a, b = _candidate_id(r, cand_a), _candidate_id(r, cand_b)
        lines = difflib.unified_diff(r.source(a).splitlines(keepends=True), r.source(b).splitlines(keepends=True),
                                     fromfile=f"{r.root.name}/{_kernel_path(a)}",
                                     tofile=f"{r.root.name}/{_kernel_path(b)}")
        typer.echo("".join(lines), nl=False)


@runs_app.command("export")
def export(run: str = typer.Argument(..., help="Run id, unique prefix, or path."),
           out: Path = typer.Argument(..., help="File to write the kernel to."),
           best: bool = typer.Option(False, "--best", help="Export the best kernel (the default)."),
           candidate: str = typer.Option(None, "--candidate", help="Export this candidate instead."),
           runs_dir: Path = RUNS_DIR_OPTION, old_dir: Path = OLD_DIR_OPTION) -> None:
    """Write a kernel of the run to OUT: the best one, or --candidate ID."""
    from autocomp.store.files import atomic_write_text

    if best and candidate is not None:
        fail("give either --best or --candidate ID, not both")
    if out.is_dir():
        fail(f"{out}: is a directory; give the file to write the kernel to, e.g. {out / 'kernel.py'}")
    refuse_run_files(out, "OUT")
    with _open(run, runs_dir, old_dir) as r:
        if candidate is not None:
            cand_id = _candidate_id(r, candidate)
        else:
            chosen = r.best()
            if chosen is None:
                fail(f"run {r.root.name} has no correct candidate yet; export one with --candidate ID")
            cand_id = chosen.id
        cand = r.candidate(cand_id)
        try:
            atomic_write_text(out, r.source(cand_id))
        except OSError as e:
            fail(f"{out}: cannot write it ({e.strerror})")
        console.print(f"candidate #{cand_id} ({cand.status}, {latency(cand.latency_us)}) written to {out}",
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
