"""`autocomp report`: one self-contained HTML report of a run."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocomp.cli._common import OLD_DIR_OPTION, RUNS_DIR_OPTION, console, fail, progress_printer, runs_dir_of
from autocomp.cli._inputs import damaged_value, refuse_run_files


def report(
    run: str = typer.Argument(..., help="Run id, unique prefix, or path."),
    out: Path | None = typer.Option(None, "-o", "--out",
                                    help="HTML file to write [default: report.html in the run's directory]."),
    runs_dir: Path = RUNS_DIR_OPTION,
    reprofile: bool = typer.Option(True, "--reprofile/--no-reprofile",
                                   help="Re-profile kernels without a stored timeline (in the sandboxed evaluator)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    old_dir: Path = OLD_DIR_OPTION,
) -> None:
    """Write the HTML report of RUN: progress, candidate tree, diff, engine timeline, LLM spend."""
    from autocomp.report import write_report
    from autocomp.store import StoreError, resolve_run

    try:
        run_dir = resolve_run(run, runs_dir_of(runs_dir, old_dir))
    except StoreError as e:
        fail(str(e))
    out = out if out is not None else Path(run_dir) / "report.html"  # one report per run: none overwrites another
    if out.is_dir():
        fail(f"--out {out}: is a directory; give the HTML file to write, e.g. {out / 'report.html'}")
    refuse_run_files(out, "--out", allow_html=True)
    try:
        path = write_report(run_dir, out, reprofile=reprofile, progress=progress_printer(quiet))
    except StoreError as e:
        fail(str(e))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        fail(damaged_value(Path(run_dir), e))
    except OSError as e:
        fail(f"{out}: cannot write the report ({e.strerror})")
    console.print(f"report written to {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
