"""`autocomp calibrate`: fit the cost model's parameters to latencies measured on hardware."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocomp.cli._common import console, fail, json_errors


def _table(fit_result, measurements) -> list[str]:
    width = max([len(m.label) for m in measurements] + [5]) + 2
    lines = [f"  {'kernel':<{width}}{'measured us':>14}{'before us':>12}{'after us':>12}{'after/meas':>12}  class"]
    for m, b, a, c in zip(measurements, fit_result.model_before_us, fit_result.model_after_us, fit_result.classes):
        ratio = a / m.measured_us
        lines.append(f"  {m.label:<{width}}{m.measured_us:>14,.1f}{b:>12,.1f}{a:>12,.1f}{ratio:>11.2f}x  {c}")
    return lines


def _from_csv(measurements: Path, target: str | None, base, quiet: bool):
    """(target, traced measurements) of a CSV file (its own kernels, traced in this process)."""
    from autocomp.perf.measurements import read_csv, trace_call

    calls = read_csv(measurements)
    tname = _pick_target(target, base, sorted({c.target for c in calls}), str(measurements))
    calls = [c for c in calls if c.target == tname]
    if not calls:
        fail(f"{measurements}: no measurements for {tname}")
    if not quiet:
        console.print(f"tracing {len(calls)} measured kernels for {tname} ...", highlight=False)
    return tname, [trace_call(c) for c in calls]


def _from_runs(run_dirs: list[Path], target: str | None, base, quiet: bool, isolation: str,
               allow_unisolated: bool):
    """(target, measurements) of the hw evaluations stored in run directories, traced in the sandbox."""
    from autocomp.store.hw_evidence import hw_evaluations, retrace

    stored = hw_evaluations(run_dirs)
    counts: dict[str, int] = {}
    for m in stored:
        counts[m.target] = counts.get(m.target, 0) + 1
    where = ", ".join(str(d) for d in run_dirs)
    tname = _pick_target(target, base, sorted(counts), where, counts)
    stored = [m for m in stored if m.target == tname]
    if not stored:
        fail(f"{where}: no hardware evaluations on {tname} (they measured {', '.join(sorted(counts))}); "
             f"pick one of those with --target")
    if not quiet:
        console.print(f"tracing {len(stored)} stored kernels measured on {tname}, each in the sandbox ...",
                      highlight=False)
    ms, skipped = retrace(stored, isolation=isolation, allow_unisolated=allow_unisolated)
    if not quiet:
        for line in skipped:
            console.print(f"  {line}", highlight=False, markup=False)
    if not ms:
        fail(f"{where}: none of the {len(stored)} stored kernels measured on {tname} evaluates on the simulator; "
             "nothing to fit")
    return tname, ms


def _pick_target(target: str | None, base, found: list[str], where: str, counts: dict | None = None) -> str:
    """--target, else the --start file's, else the measurements' only target; mixed targets are refused."""
    from autocomp.perf.targets import get_target

    if target:
        return get_target(target).name
    if base is not None:
        return base.target
    if len(found) > 1:
        listed = ", ".join(f"{t} ({counts[t]})" if counts else t for t in found)
        fail(f"{where}: measurements for {listed}; a calibration is for one target: pick one with --target")
    return found[0]


def calibrate_command(
    measurements: list[Path] = typer.Argument(..., help="CSV of measured latencies: kernel,function,shapes,target,"
                                              "measured_us[,scalars,grid,chain] (see docs/cost-model.md); with "
                                              "--from-runs, run directories instead."),
    from_runs: bool = typer.Option(False, "--from-runs", help="The arguments are run directories: fit to the "
                                   "hardware (hw) latencies they store, each kernel traced again in the sandbox."),
    target: str = typer.Option(None, "--target", help="Calibrate this target (default: the CSV's, if one)."),
    out: Path = typer.Option(None, "--out", "-o", help="Calibration file to write (default: calibration-TARGET.toml)."),
    start: Path = typer.Option(None, "--start", help="Start from this calibration file, not the built-in numbers."),
    params: str = typer.Option("", "--params", help="Comma-separated parameters to fit, all of them, with a weak "
                               "pull to the start (default: the candidates of docs/cost-model.md, of which "
                               "cross-validation picks the ones the measurements support)."),
    split: bool = typer.Option(False, "--split", help="Also fit on half of the measurements and report the error "
                               "on the other half (a held-out check)."),
    iterations: int = typer.Option(6, "--iterations", min=1, max=50, help="Gauss-Newton iterations."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    isolation: str = typer.Option("auto", "--isolation", help="With --from-runs: the sandbox stored kernels are "
                                  "traced in: auto, bwrap, userns or none."),
    allow_unisolated: bool = typer.Option(False, "--allow-unisolated", help="With --from-runs: trace stored "
                                          "kernels without a sandbox when none is available."),
) -> None:
    """Fit a target's cost-model parameters to MEASUREMENTS and write a calibration file that
    `autocomp profile`, `eval` and `optimize --calibration FILE` use."""
    from autocomp.perf.calibration import PARAMETERS, CalibrationError, load_calibration, save_calibration
    from autocomp.perf.fit import error_stats, fit, split_halves
    from autocomp.perf.measurements import MeasurementError
    from autocomp.perf.targets import get_target
    from autocomp.store.hw_evidence import FromRunsError

    json_errors(as_json)
    names = [p.strip() for p in params.split(",") if p.strip()]
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown:
        fail(f"--params: {', '.join(unknown)} cannot be fitted; choose from {', '.join(PARAMETERS)}")
    if not from_runs and len(measurements) != 1:
        fail(f"give one measurements CSV (got {len(measurements)} arguments); to read run directories, pass "
             "--from-runs")
    try:
        base = load_calibration(start) if start else None
        if from_runs:
            tname, ms = _from_runs(measurements, target, base, as_json, isolation, allow_unisolated)
            origin = f"hw evaluations in {', '.join(d.name for d in measurements)}"
        else:
            tname, ms = _from_csv(measurements[0], target, base, as_json)
            origin = measurements[0].name
    except (CalibrationError, MeasurementError, FromRunsError, ValueError) as e:
        fail(str(e))
    report: dict = {"target": tname, "measurements": len(ms)}
    lines: list[str] = []
    if split:
        if len(ms) < 4:
            fail("--split needs at least 4 measurements (two per half)")
        first, second = split_halves(ms)
        half = fit([ms[i] for i in first], tname, names, start=base, iterations=iterations)
        from autocomp.perf.fit import trace_evaluator

        held = [ms[i] for i in second]
        tgt = (base.apply(tname) if base else get_target(tname))
        before = trace_evaluator(held, tgt)([{}])[0]
        after = trace_evaluator(held, tgt)([half.changed])[0]
        measured = [m.measured_us for m in held]
        chains = [m.chain for m in held]
        sb = error_stats(measured, [lat for lat, _ in before], chains)
        sa = error_stats(measured, [lat for lat, _ in after], chains)
        report["split"] = {"fit_on": len(first), "held_out": len(second), "held_out_before": sb.to_dict(),
                           "held_out_after": sa.to_dict(), "parameters": half.changed}
        lines += [f"held-out check: fitted on {len(first)}, tested on the other {len(second)}",
                  f"  before: {sb.line()}", f"  after:  {sa.line()}", ""]
    result = fit(ms, tname, names, start=base, iterations=iterations)
    cal = result.calibration(base, note=f"fitted to {origin}")
    path = out or Path(f"calibration-{tname}.toml")
    try:
        save_calibration(cal, path, header=f"{len(ms)} measurements from {origin}")
    except OSError as e:
        fail(f"{path}: cannot write the calibration file ({e.strerror or e})")
    report.update({"before": result.before.to_dict(), "after": result.after.to_dict(), "parameters": result.parameters,
                   "start": result.start, "selected": result.selected, "prior_weight": result.prior_weight,
                   "selection": result.selection, "unidentified": result.unidentified, "file": str(path),
                   "bands": {k: b.to_dict() for k, b in result.bands.items()}})
    if as_json:
        print(json.dumps(report, indent=2))
        return
    lines += [f"{tname}: {len(ms)} measurements, {result.evaluations} model evaluations",
              f"  before: {result.before.line()}", f"  after:  {result.after.line()}", "", "parameters:"]
    for name, value in result.parameters.items():
        if name in result.unidentified:
            note = "  (not moved by these measurements: kept)"
        elif name not in result.selected:
            note = "  (did not lower the cross-validated error beyond noise: kept)"
        else:
            note = ""
        lines.append(f"  {name:<28} {result.start[name]:>12.4g} -> {value:<12.4g}{note}")
    if result.selection:
        lines += ["", f"chosen by cross-validation (leave-one-out on these measurements), pull towards the "
                  f"start {result.prior_weight:g}:"]
        from autocomp.perf.crossval import path_lines

        lines += [f"  {line}" for line in path_lines(result.selection, result.selected)]
    lines += ["", *_table(result, ms), "", "error bands (90% interval of measured/model):"]
    for cls, band in result.bands.items():
        low, high = band.interval(1.0)
        lines.append(f"  {cls:<9} n={band.n:<3} {low:.2f}x - {high:.2f}x")
    lines += ["", f"wrote {path}: use it with  autocomp eval|optimize|profile ... --calibration {path}"]
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
