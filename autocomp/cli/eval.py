"""`autocomp eval PROBLEM KERNEL.py`: evaluate candidates in the sandbox; show the verdict, or print it as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocomp import targets
from autocomp.cli._common import console, err_console, fail, json_errors
from autocomp.cli._inputs import check_timeout, check_workers, read_text_file
from autocomp.units import latency, speedup

_STATUS_STYLE = {"correct": "bold green", "incorrect": "bold red", "compile_error": "bold yellow",
                 "runtime_error": "bold yellow", "timeout": "bold magenta", "rejected": "bold red"}
_PROFILE_FIELDS = (
    ("mfu_estimated_percent", "MFU", "pct"),
    ("mbu_estimated_percent", "MBU", "pct"),
    ("hbm_read_bytes", "HBM read", "bytes"),
    ("hbm_write_bytes", "HBM write", "bytes"),
    ("dma_transfer_average_bytes", "avg DMA", "bytes"),
    ("roofline_percent", "of roofline", "pct"),
)


def _engine_fields() -> list[tuple[str, str, str]]:
    """The engines' busy shares, named by the cost model's engine table (imported here: it loads the model)."""
    from autocomp.nki.trace import SP
    from autocomp.perf.engines import DMA_QUEUES, ENGINES

    fields = [(f"{lane.name}_engine_active_time_percent", f"{lane.label} active", "pct") for lane in ENGINES
              if lane.id != SP]  # the Sync engine only triggers DMAs
    return [*fields, ("dma_active_time_percent", f"{DMA_QUEUES.label} active", "pct")]


def _fmt(value, kind: str) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    if kind == "pct":
        return f"{100 * value:.1f}%"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


def _panel(result, name: str):
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("status", f"[{_STATUS_STYLE[result.status]}]{result.status}[/]")
    grid.add_row("reason", result.reason)
    if result.latency_us is not None:
        speed = (f"   {speedup(result.speedup)} vs baseline {latency(result.baseline_latency_us)}"
                 if result.speedup else "")
        mean = " weighted geomean over shapes" if result.shapes else ""
        grid.add_row("latency", f"{latency(result.latency_us)} ({result.evidence}{mean}){speed}")
        low, high = result.profile.get("total_time_low"), result.profile.get("total_time_high")
        if result.evidence == "sim" and isinstance(low, (int, float)) and isinstance(high, (int, float)) \
                and not result.shapes:  # several shapes: the interval is the first shape's, not the mean's
            grid.add_row("likely", f"{low * 1e6:.2f} - {high * 1e6:.2f} us on hardware (90%)")
        if result.evidence == "sim":
            grid.add_row("calibration", result.calibration or "built-in cost model")
    for shape in result.shapes:  # problems over several shapes (docs/evaluation.md#problems-over-several-shapes)
        slower = "  slower than the baseline" if shape.name in result.regressed_shapes else ""
        speed = f"   {speedup(shape.speedup)}" if shape.speedup else ""
        grid.add_row(f"shape {shape.name}", f"{shape.status}, {latency(shape.latency_us)}{speed}, weight "
                                            f"{shape.weight:g}{slower}")
    if result.max_abs is not None:
        grid.add_row("error", f"max abs {result.max_abs:.3g}, rel L2 {result.rel_l2:.3g} over "
                              f"{len(result.seeds)} seeds")
    shown = [f"{label} {_fmt(result.profile[key], kind)}" for key, label, kind in (*_engine_fields(), *_PROFILE_FIELDS)
             if key in result.profile]
    if shown:
        grid.add_row(f"profile ({result.shapes[0].name})" if result.shapes else "profile", ", ".join(shown))
    for hint in result.hints[:4]:
        grid.add_row("hint", hint)
    for warning in result.warnings[:4]:
        grid.add_row("warning", warning)
    if result.flags:
        grid.add_row("flags", ", ".join(result.flags))
    took = result.timings.get("total", 0.0)
    nki = f" nki {result.nki_version}" if result.nki_version else ""
    grid.add_row("evaluated", f"{result.backend}/{result.target}{nki} {result.tool_version}, {took:.2f} s"
                              + (" (cache hit)" if result.cache_hit else ""))
    return Panel(grid, title=f"autocomp eval: {name}", title_align="left", border_style=_STATUS_STYLE[result.status])


def eval_command(
    problem: str = typer.Argument(..., help="Problem name ($AUTOCOMP_PROBLEMS, ./problems, the suite) or directory."),
    kernels: list[Path] = typer.Argument(..., help="Candidate kernel file(s)."),
    backend: str = typer.Option("sim", "--backend", help="sim (simulator + cost model), hw (alias neuron: "
                                                                "Trainium, current Neuron SDK) or auto."),
    target: str = typer.Option(None, "--target", help=f"{targets.choices()} (default: the problem's)."),
    nki_version: str = typer.Option(None, "--nki-version",
                                    help="Release of the current nki dialect the kernels follow, e.g. 0.6 (default: "
                                         "the problem's nki_version, else the release the simulator models)."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object instead of a panel."),
    workers: int = typer.Option(None, "--workers", help="Candidates evaluated in parallel (default: CPU cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Evaluate even if an identical candidate is cached."),
    timeout: float = typer.Option(None, "--timeout", help="Wall-clock seconds per candidate (default: the problem's)."),
    isolation: str = typer.Option("auto", "--isolation",
                                  help="Sandbox: auto (strongest available), bwrap, userns or none."),
    allow_unisolated: bool = typer.Option(False, "--allow-unisolated",
                                          help="Run kernels other than the problem's own without a sandbox when "
                                               "none is available (they can read and write what you can)."),
    calibration: Path = typer.Option(None, "--calibration",
                                     help="Cost-model calibration file from `autocomp calibrate` for the sim "
                                          "backend's estimates; the neuron (hw) backend measures and ignores it."),
) -> None:
    """Evaluate KERNEL(s) for PROBLEM in the sandbox: correctness on every seed, then latency."""
    from autocomp.evaluate import Evaluator, EvaluatorError
    from autocomp.evaluate.backends import BACKENDS, auto_backend, get_backend
    from autocomp.nki.runtime import normalize_target
    from autocomp.problem import ProblemError
    from autocomp.suite.location import load_problem

    json_errors(as_json)
    if backend not in BACKENDS:
        from autocomp.search.config import did_you_mean

        fail(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}" + did_you_mean(backend, tuple(BACKENDS)))
    try:
        target = normalize_target(target) if target else None
    except ValueError as e:
        fail(str(e))
    check_workers(workers)
    check_timeout(timeout)
    try:
        prob = load_problem(problem)
    except ProblemError as e:
        fail(str(e))
    cal = load_calibration_option(calibration)
    sources = [read_text_file(path, "kernel file", "save the kernel as UTF-8 text") for path in kernels]
    try:
        if backend == "auto":
            chosen, choice = auto_backend()
            err_console.print(f"note: {choice.line()}", highlight=False, markup=False)
        else:
            chosen = get_backend(backend)
        if chosen.evidence != "sim":
            cal = None  # hardware measures: nothing to calibrate
        check_calibration_target(cal, calibration, target or prob.spec.target)
        evaluator = Evaluator(chosen, workers=workers, cache=not no_cache, target=target,
                              timeout_s=timeout, isolation=isolation, allow_unisolated=allow_unisolated,
                              calibration=cal, nki_version=nki_version)
        results = evaluator.evaluate_many(prob, sources, filenames=[p.name for p in kernels])
    except (EvaluatorError, RuntimeError) as e:
        fail(str(e))
    if as_json:
        dumped = [r.model_dump(mode="json") for r in results]
        typer.echo(json.dumps(dumped[0] if len(dumped) == 1 else {"results": dumped}))
    else:
        for path, result in zip(kernels, results):
            console.print(_panel(result, str(path)))
    if not all(r.status == "correct" for r in results):
        raise typer.Exit(1)


def load_calibration_option(path: Path | None):
    """The --calibration file, read and validated before any evaluation; a bad one ends the command (exit 2)."""
    if path is None:
        return None
    from autocomp.perf.calibration import CalibrationError
    from autocomp.perf.calibration_source import read_calibration_source

    try:
        return read_calibration_source(path)
    except CalibrationError as e:
        fail(str(e))


def check_calibration_target(source, path: Path | None, target: str) -> None:
    """A calibration is for one target: refuse it (exit 2) for another."""
    if source is None:
        return
    made_for = source.parse(str(path)).target
    if made_for != target:
        fail(f"{path}: a calibration for {made_for}, but this evaluation is on {target}; pass a {target} "
             f"calibration (autocomp calibrate ... --target {target}) or --target {made_for}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
