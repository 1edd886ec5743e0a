"""`autocomp calibrate` and calibration files: fitting recovers known parameters, files round-trip,
`profile --calibration` applies them, and a fit on half of the public set helps the other half."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.perf import get_target, profile
from autocomp.perf.calibration import (
    CalibrationError,
    CalibrationFile,
    from_dict,
    load_calibration,
    save_calibration,
)
from autocomp.perf.fit import Measurement, error_stats, fit, split_halves, trace_evaluator
from autocomp.perf.measurements import KernelCall, MeasurementError, from_traces, read_csv, trace_call
from autocomp.perf.uncertainty import Band

KERNELS = Path(__file__).parent / "kernels"
CAL = KERNELS / "calibration_kernels.py"
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

# One kernel per resource the fit can see (see calibration_kernels.py).
CASES = [("copy_rows", "a=2048x4096:float32"), ("copy_short_rows", "a=512x1024:float32"),
         ("square_many", "a=128x2048:float32"), ("matmul_many", "a=128x128:bfloat16 b=128x512:bfloat16"),
         ("tiny", "a=128x64:float32"), ("copy_rows", "a=1024x4096:float32")]
TRUTH = {"dma_engine_bytes_per_ns": 12.0, "dma_descriptor_ns": 60.0, "compute_cycle_scale": 1.3,
         "pe_cycle_scale": 0.8, "launch_overhead_ns": 9000.0}


@pytest.fixture(scope="module")
def traced() -> list[Measurement]:
    """The calibration kernels traced once, with measurements made by the TRUTH parameters."""
    ms = [trace_call(KernelCall(f"case{i}", CAL, fn, shapes.split(), "trn1", 1.0, label=f"{fn}[{shapes}]"))
          for i, (fn, shapes) in enumerate(CASES)]
    for m, (lat, _) in zip(ms, trace_evaluator(ms, get_target("trn1"))([TRUTH])[0]):
        m.measured_us = lat
    return ms


def test_fit_recovers_the_parameters_that_made_synthetic_measurements(traced):
    result = fit(traced, "trn1", list(TRUTH))  # an explicit list is fitted whole
    for name, true in TRUTH.items():
        assert result.parameters[name] == pytest.approx(true, rel=0.05), name
    assert result.before.median_abs_pct > 20
    assert result.after.median_abs_pct < 1 and result.after.geomean_ratio == pytest.approx(1.0, abs=0.01)
    assert not result.unidentified


def test_a_parameter_no_measurement_depends_on_stays_where_it_started(traced):
    dma_only = [m for m in traced if m.label.startswith("copy_rows")]
    result = fit(dma_only, "trn1", ["dma_engine_bytes_per_ns", "pe_cycle_scale"])
    assert "pe_cycle_scale" in result.unidentified
    assert result.parameters["pe_cycle_scale"] == pytest.approx(1.0)
    cal = result.calibration()
    assert "pe_cycle_scale" not in cal.parameters and "dma_engine_bytes_per_ns" in cal.parameters


def test_fit_refuses_mixed_targets_unknown_parameters_and_bad_measurements(traced):
    with pytest.raises(ValueError, match="cannot fit"):
        fit(traced, "trn1", ["warp_speed"])
    with pytest.raises(ValueError, match="positive"):
        fit([Measurement("x", 0.0, traced[0].trace)], "trn1")
    with pytest.raises(ValueError, match="trn1"):
        fit([Measurement("x", 10.0, traced[0].trace, "trn1")], "trn2")


def test_calibration_files_round_trip_and_profile_applies_them(traced, tmp_path):
    band = Band(n=5, log_bias=0.05, log_sigma=0.1, pair_sigma=0.05, source="test")
    cal = CalibrationFile("trn1", {"dma_engine_bytes_per_ns": 8.5, "launch_overhead_ns": 7000.0}, {"dma": band},
                          {"measurements": 5, "before": {"n": 5}})
    path = save_calibration(cal, tmp_path / "c.toml", header="test")
    back = load_calibration(path)
    assert back.target == "trn1" and back.parameters == cal.parameters and back.bands["dma"] == band
    trace = traced[0].trace
    plain, calibrated = profile(trace, "trn1"), profile(trace, "trn1", calibration=path)
    assert calibrated.latency_us > 1.8 * plain.latency_us  # half the DMA rate on a DMA-bound copy
    assert calibrated.launch_overhead_ns == 7000.0 and calibrated.calibration == str(path)
    assert calibrated.uncertainty == band
    assert calibrated.latency_high_us / calibrated.latency_us == pytest.approx(math.exp(0.05 + 1.645 * 0.1))
    with pytest.raises(CalibrationError, match="not trn2"):
        profile(trace, "trn2", calibration=path)


@pytest.mark.parametrize("data,message", [
    ({"parameters": {}}, "missing target"),
    ({"target": "trn1", "parameters": {"warp_speed": 2.0}}, "parameters.warp_speed is not a calibration parameter"),
    ({"target": "trn1", "parameters": {"dma_engine_bytes_per_ns": "fast"}}, "must be a number"),
    ({"target": "trn1", "parameters": {"dma_engine_bytes_per_ns": -3.0}}, "outside"),
    ({"target": "trn1", "uncertainty": {"sideways": {}}}, "not an estimate class"),
    ({"target": "trn9"}, "unknown target"),
    ({"target": "trn1", "format": 7}, "format 7"),
    ({"target": "trn1", "extra": 1}, "unknown top-level key"),
])
def test_bad_calibration_files_name_the_key_and_the_fix(data, message):
    with pytest.raises(CalibrationError, match=message):
        from_dict(data, "cal.toml")


def test_unreadable_calibration_files_say_so(tmp_path):
    with pytest.raises(CalibrationError, match="cannot read"):
        load_calibration(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("target = [", encoding="utf-8")
    with pytest.raises(CalibrationError, match="not valid TOML"):
        load_calibration(bad)


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "measured.csv"
    path.write_text("\n".join(["kernel,function,shapes,target,measured_us,chain", *rows]) + "\n", encoding="utf-8")
    return path


def test_calibrate_command_fits_reports_and_writes_a_file_profile_uses(traced, tmp_path):
    rows = [f'{CAL},{fn},"{shapes}",trn1,{m.measured_us:.4f},{"dma" if fn.startswith("copy") else ""}'
            for (fn, shapes), m in zip(CASES, traced)]
    out = tmp_path / "trn1.toml"
    result = runner.invoke(app, ["calibrate", str(_csv(tmp_path, rows)), "-o", str(out), "--split",
                                 "--params", ",".join(TRUTH)])
    assert result.exit_code == 0, result.output
    assert "before: median |error|" in result.output and "after:  median |error| 0%" in result.output
    assert "held-out check" in result.output and f"wrote {out}" in result.output
    cal = load_calibration(out)
    assert cal.parameters["compute_cycle_scale"] == pytest.approx(1.3, rel=0.05)
    assert cal.fit["after"]["median_abs_pct_error"] < 1
    shown = runner.invoke(app, ["profile", str(CAL), "-f", "copy_rows", "--shapes", "a=2048x4096:float32",
                                "--calibration", str(out)])
    assert shown.exit_code == 0, shown.output
    assert f"calibration {out}" in shown.output and "likely" in shown.output
    estimated = float(shown.output.split(" µs estimated")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert estimated == pytest.approx(traced[0].measured_us, rel=0.01)
    as_json = runner.invoke(app, ["calibrate", str(_csv(tmp_path, rows[:3])), "-o", str(out), "--json",
                                  "--params", "dma_engine_bytes_per_ns,dma_descriptor_ns"])
    report = json.loads(as_json.output)
    assert set(report["parameters"]) == {"dma_engine_bytes_per_ns", "dma_descriptor_ns"}
    # Without --params, cross-validation chooses among the candidates and the output shows its path.
    chosen = runner.invoke(app, ["calibrate", str(_csv(tmp_path, rows)), "-o", str(out)])
    assert chosen.exit_code == 0, chosen.output
    assert "chosen by cross-validation" in chosen.output and "(starting values)" in chosen.output
    assert set(load_calibration(out).parameters) == set(load_calibration(out).fit["fitted"])


@pytest.mark.parametrize("row,message", [
    ("nowhere.py,f,a=4x4,trn1,10,", "no kernel file"),
    (f"{CAL},copy_rows,a=4x4,trn1,ten,", "measured_us 'ten' is not a number"),
    (f"{CAL},copy_rows,a=4x4,trn1,-5,", "positive number"),
    (f"{CAL},copy_rows,a=4x4,trn7,5,", "unknown target"),
    (f"{CAL},copy_rows,b=128x64,trn1,5,", "not parameters of copy_rows"),
    (f"{CAL},copy_rows,a=128by64,trn1,5,", "bad shape spec"),
])
def test_bad_measurement_rows_name_the_file_and_row(tmp_path, row, message):
    result = runner.invoke(app, ["calibrate", str(_csv(tmp_path, [row])), "-o", str(tmp_path / "x.toml")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "measured.csv:2" in result.output


def test_a_csv_without_the_required_columns_is_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("kernel,function\nk.py,f\n", encoding="utf-8")
    with pytest.raises(MeasurementError, match="missing column"):
        read_csv(path)


def test_stored_hardware_evaluations_become_measurements():
    """The run-directory hook: (trace, target, measured us[, chain]) tuples from sandboxed evaluations."""
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.problem import Problem
    from autocomp.suite.location import resolve_problem

    problem = Problem.load(resolve_problem("softmax"))
    fn = load_kernel(problem.kernel_path, problem.spec.function, "trn1")
    trace = run_kernel(fn, list(problem.input_specs()), target="trn1", dialect=problem.spec.dialect,
                       numerics=False).trace
    ms = from_traces([(trace, "trn1", 123.0), (trace, "trn1", 130.0, "chain-a")])
    assert [m.measured_us for m in ms] == [123.0, 130.0]
    assert ms[0].trace is trace and ms[1].chain == "chain-a"
    with pytest.raises(MeasurementError, match="positive"):
        from_traces([(trace, "trn1", -1.0)])


# ----------------------------------------------------------------------------- the public set, half and half

def _fidelity_entries():
    spec = importlib.util.spec_from_file_location("fidelity_benchmark_cal", REPO / "benchmarks" / "fidelity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return {e.id: e for e in module.load_entries()}


# Public entries with a stand-in kernel in tests/perf/kernels (our rewrites of the tutorials; CI has
# no checkouts of the published kernels) that trace in well under a second.
STAND_INS = {
    "sdk-layernorm.v1": ("layernorm_tutorial.py", "layernorm_v1"),
    "sdk-layernorm.v2": ("layernorm_tutorial.py", "layernorm_v2"),
    "sdk-mamba.v1.c256.s512": ("mamba_tutorial.py", "mamba_v1"),
    "sdk-mamba.v2.c4096.s512": ("mamba_tutorial.py", "mamba_v2"),
    "sdk-mamba.v2.c4096.s1024": ("mamba_tutorial.py", "mamba_v2"),
    "sdk-mamba.v2.c4096.s2048": ("mamba_tutorial.py", "mamba_v2"),
}


def _stand_in(entry, file: str, function: str) -> Measurement:
    from autocomp.nki import TensorSpec, run_kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.nki.shapes import parse_shape_spec

    specs = dict(parse_shape_spec(text) for text in entry.inputs)
    if function.startswith("layernorm"):  # the rewrite takes (x, eps, gamma, beta) with [1, cols] vectors
        cols = specs["input_tensor"].shape[1]
        args = [specs["input_tensor"], 1e-5, TensorSpec((1, cols)), TensorSpec((1, cols))]
    else:
        args = [specs[k] for k in ("delta", "u", "A", "B", "C")]
    fn = load_kernel(KERNELS / file, function, "trn1")
    trace = run_kernel(fn, args, target="trn1", numerics=False).trace
    return Measurement(entry.id, entry.published_us, trace, "trn1", entry.chains[0])


def test_calibrating_on_half_of_the_public_set_lowers_the_error_on_the_other_half():
    entries = _fidelity_entries()
    ms = [_stand_in(entries[eid], *where) for eid, where in STAND_INS.items()]
    first, second = split_halves(ms)
    assert first and second and not set(first) & set(second)
    train, held = [ms[i] for i in first], [ms[i] for i in second]
    result = fit(train, "trn1", ["compute_cycle_scale", "dma_engine_bytes_per_ns"], iterations=4)
    point = {k: v for k, v in result.parameters.items() if k not in result.unidentified}
    base = get_target("trn1")
    before = [lat for lat, _ in trace_evaluator(held, base)([{}])[0]]
    after = [lat for lat, _ in trace_evaluator(held, base)([point])[0]]
    measured = [m.measured_us for m in held]
    # the error the fit minimises (rms of ln(model / measured)), on the entries it never saw
    err_before = error_stats(measured, before).rms_log_error
    err_after = error_stats(measured, after).rms_log_error
    assert result.after.rms_log_error < result.before.rms_log_error
    assert err_after < err_before, (err_before, err_after, result.parameters)
