"""Per-instruction-class cost scales in calibration: one class's cost can be recovered from measurements of
kernels that run it, a class no measured kernel runs never moves, and the scales round-trip through the
calibration file into `profile` and `eval`."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.perf import get_target, profile
from autocomp.perf.calibration import (
    CLASS_PARAMETERS,
    DEFAULT_FIT,
    PARAMETERS,
    CalibrationFile,
    load_calibration,
    save_calibration,
)
from autocomp.perf.costs import CLASS_SCALE_FIELDS, CLASS_SCALES, _scaled, class_scale, engine_cycles
from autocomp.perf.fit import Measurement, error_stats, fit, split_halves, trace_evaluator
from autocomp.perf.measurements import KernelCall, trace_call
from autocomp.targets import Calibration

CAL = Path(__file__).parent / "kernels" / "calibration_kernels.py"
runner = CliRunner()

# Scans at four sizes (two land in each half: split_halves alternates within a chain), a kernel mixing scans
# with two-input multiplies, and kernels of other classes and resources that a wrong parameter would disturb.
CASES = [("scan_many", "a=128x256:float32"), ("scan_many", "a=128x512:float32"),
         ("scan_many", "a=128x1024:float32"), ("scan_many", "a=128x2048:float32"),
         ("scan_and_multiply", "a=128x512:float32"), ("scan_and_multiply", "a=128x2048:float32"),
         ("square_many", "a=128x512:float32"), ("square_many", "a=128x2048:float32"),
         ("exp_many", "a=128x512:float32"), ("exp_many", "a=128x2048:float32"),
         ("matmul_many", "a=128x128:bfloat16 b=128x512:bfloat16"),
         ("matmul_many", "a=128x128:bfloat16 b=128x128:bfloat16"),
         ("copy_rows", "a=1024x4096:float32"), ("copy_rows", "a=2048x4096:float32")]


@pytest.fixture(scope="module")
def traced() -> list[Measurement]:
    return [trace_call(KernelCall(f"case{i}", CAL, fn, shapes.split(), "trn1", 1.0, label=f"{fn}[{shapes}]",
                                  chain=fn)) for i, (fn, shapes) in enumerate(CASES)]


def _measured(ms: list[Measurement], truth: dict, noise: float, seed: int) -> list[Measurement]:
    """Copies of ``ms`` measured as the shipped model with ``truth`` applied, times lognormal noise."""
    rng = random.Random(seed)
    lats = trace_evaluator(ms, get_target("trn1"))([truth])[0]
    return [Measurement(m.label, lat * math.exp(rng.gauss(0.0, noise)), m.trace, m.target, m.chain)
            for m, (lat, _) in zip(ms, lats)]


def test_every_class_has_a_fittable_parameter_that_defaults_to_the_shipped_model():
    assert set(CLASS_PARAMETERS) == set(CLASS_SCALE_FIELDS)
    defaults = Calibration()
    for name in CLASS_PARAMETERS:
        assert name in PARAMETERS and name in DEFAULT_FIT, name
        assert getattr(defaults, name) == 1.0, name
    for (engine, _opcode), name in CLASS_SCALES.items():
        assert name.startswith(f"{engine}_"), name  # a class belongs to one engine


def test_a_class_scale_multiplies_its_streaming_cycles_but_never_goes_below_min_ii(traced):
    trace = traced[3].trace  # scan_many at 2048 elements
    scan = next(i for i in trace.instructions if i.opcode == "TENSOR_TENSOR_SCAN")
    square = traced[6].trace
    multiply = next(i for i in square.instructions if i.opcode == "TENSOR_TENSOR")
    base = get_target("trn1")
    slow = base.with_calibration(dve_scan_scale=1.5)
    assert class_scale(scan, slow) == 1.5 and class_scale(multiply, slow) == 1.0
    assert engine_cycles(scan, slow)[0] == pytest.approx(1.5 * engine_cycles(scan, base)[0])
    assert engine_cycles(multiply, slow)[0] == engine_cycles(multiply, base)[0]
    # 2 x 256 elements at a fifth of the cost is 102 cycles, above MIN_II (64): scaled in full; a scan of
    # 32 elements is at MIN_II already (its cost is issue, not elements) and stays there.
    fast = base.with_calibration(dve_scan_scale=0.2)
    small = next(i for i in traced[0].trace.instructions if i.opcode == "TENSOR_TENSOR_SCAN")
    assert engine_cycles(small, fast)[0] == pytest.approx(0.2 * 2 * 256)
    assert _scaled(64.0, 0.2, base.min_ii_cycles) == 64.0 and _scaled(200.0, 0.2, 64) == 64.0
    assert _scaled(64.0, 3.0, base.min_ii_cycles) == 64.0  # an issue-bound instruction does not grow either


def test_a_scaled_class_is_recovered_from_half_and_the_other_half_improves(traced):
    """Measurements made by the shipped model with scans 40% slower, plus 2% noise: fitted on half, the
    default candidates move the scan scale (not an engine-wide one, which would disturb the plain
    multiplies), it comes back within 10%, and the held-out half's error drops."""
    ms = _measured(traced, {"dve_scan_scale": 1.4}, noise=0.02, seed=0)
    first, second = split_halves(ms)
    train, held = [ms[i] for i in first], [ms[i] for i in second]
    result = fit(train, "trn1")
    assert "dve_scan_scale" in result.selected, result.selection
    assert result.parameters["dve_scan_scale"] == pytest.approx(1.4, rel=0.1)
    for name in ("compute_cycle_scale", "dve_cycle_scale", "dve_tensor_tensor_scale", "act_activation_scale"):
        assert name not in result.selected, result.selected
    base = get_target("trn1")
    measured = [m.measured_us for m in held]
    before = error_stats(measured, [lat for lat, _ in trace_evaluator(held, base)([{}])[0]])
    after = error_stats(measured, [lat for lat, _ in trace_evaluator(held, base)([result.changed])[0]])
    assert after.rms_log_error < 0.5 * before.rms_log_error, (before, after, result.changed)


def test_a_class_no_measured_kernel_runs_never_moves(traced):
    """bn_stats and Tensor-engine transposes run in none of the kernels: even fitted explicitly, with a
    truth that would change them, their scales stay at the start and are reported unidentified."""
    ms = _measured(traced, {"dve_scan_scale": 1.4, "dve_bn_stats_scale": 2.0, "pe_transpose_scale": 3.0},
                   noise=0.0, seed=0)
    chosen = fit(ms, "trn1")
    explicit = fit(ms, "trn1", ["dve_scan_scale", "dve_bn_stats_scale", "pe_transpose_scale"])
    for result in (chosen, explicit):
        for name in ("dve_bn_stats_scale", "pe_transpose_scale"):
            assert name in result.unidentified and name not in result.selected
            assert result.parameters[name] == 1.0
            assert name not in result.calibration().parameters
    assert explicit.parameters["dve_scan_scale"] == pytest.approx(1.4, rel=0.02)


def test_class_scales_round_trip_and_profile_applies_them(traced, tmp_path):
    cal = CalibrationFile("trn1", {"dve_scan_scale": 2.0, "act_activation_scale": 0.5})
    path = save_calibration(cal, tmp_path / "classes.toml")
    assert "dve_scan_scale = 2.0  # multiplier on Vector scans" in path.read_text()
    back = load_calibration(path)
    assert back.parameters == cal.parameters
    scans, exps = traced[3].trace, traced[9].trace
    assert profile(scans, "trn1", calibration=path).latency_us > 1.7 * profile(scans, "trn1").latency_us
    assert profile(exps, "trn1", calibration=path).latency_us < 0.8 * profile(exps, "trn1").latency_us
    shown = runner.invoke(app, ["profile", str(CAL), "-f", "scan_many", "--shapes", "a=128x2048:float32",
                                "--calibration", str(path)])
    assert shown.exit_code == 0, shown.output
    estimated = float(shown.output.split(" µs estimated")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert estimated == pytest.approx(profile(scans, "trn1", calibration=path).latency_us, rel=0.01)


def test_eval_applies_a_class_scale_from_the_calibration_file(tmp_path):
    from autocomp.evaluate import Evaluator
    from tests.fakes.eval_support import kernel_source, problem

    kernel = kernel_source("honest/muladd_isa.py")
    slow = tmp_path / "slow_vector.toml"
    slow.write_text('format = 1\ntarget = "trn1"\n[parameters]\ndve_tensor_tensor_scale = 5.0\n'
                    "dve_tensor_scalar_scale = 5.0\nact_activation_scale = 5.0\nact_copy_scale = 5.0\n",
                    encoding="utf-8")
    results = {}
    for name, cal in (("plain", None), ("slow", slow)):
        ev = Evaluator("sim", workers=1, cache=False, calibration=cal)
        try:
            results[name] = ev.evaluate(problem("ew_muladd"), kernel)
        finally:
            ev.close()
    assert results["plain"].status == results["slow"].status == "correct"
    assert results["slow"].latency_us > results["plain"].latency_us
    assert results["slow"].calibration.startswith("slow_vector.toml sha256:")
