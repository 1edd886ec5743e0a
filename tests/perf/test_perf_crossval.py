"""Calibration that generalises: the per-engine parameters can be recovered, cross-validation moves only
what the measurements support, a set that supports nothing changes nothing, and fitting on half of a
noisy synthetic set lowers the error on the other half."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from autocomp.perf import get_target
from autocomp.perf.calibration import CalibrationFile
from autocomp.perf.crossval import choose, cv_error, ridge_step
from autocomp.perf.fit import Measurement, error_stats, fit, split_halves, trace_evaluator
from autocomp.perf.measurements import KernelCall, trace_call

CAL = Path(__file__).parent / "kernels" / "calibration_kernels.py"

# Each resource at two sizes, so that a per-instruction time and a per-cycle scale of one engine
# can be told apart, and so that leaving one measurement out still leaves one that sees the resource.
CASES = [("square_many", "a=128x512:float32"), ("square_many", "a=128x2048:float32"),
         ("exp_many", "a=128x512:float32"), ("exp_many", "a=128x2048:float32"),
         ("matmul_many", "a=128x128:bfloat16 b=128x128:bfloat16"),
         ("matmul_many", "a=128x128:bfloat16 b=128x512:bfloat16"),
         ("copy_rows", "a=1024x4096:float32"), ("copy_rows", "a=2048x4096:float32"),
         ("copy_short_rows", "a=256x1024:float32"), ("copy_short_rows", "a=512x1024:float32"),
         ("tiny", "a=128x64:float32"), ("tiny", "a=128x128:float32")]
PER_ENGINE = {"dve_instruction_ns": 250.0, "act_instruction_ns": 400.0, "pe_instruction_ns": 120.0,
              "dve_cycle_scale": 1.3, "pe_cycle_scale": 0.85, "dma_fixed_latency_ns": 2500.0}


@pytest.fixture(scope="module")
def traced() -> list[Measurement]:
    """The calibration kernels traced once; measured_us set by each test."""
    return [trace_call(KernelCall(f"case{i}", CAL, fn, shapes.split(), "trn1", 1.0, label=f"{fn}[{shapes}]",
                                  chain=fn)) for i, (fn, shapes) in enumerate(CASES)]


def _measured(traced, truth: dict, noise: float = 0.0, seed: int = 0) -> list[Measurement]:
    """Copies of ``traced`` whose measurements the ``truth`` parameters made, times lognormal noise."""
    rng = random.Random(seed)
    lats = trace_evaluator(traced, get_target("trn1"))([truth])[0]
    return [Measurement(m.label, lat * math.exp(rng.gauss(0.0, noise)), m.trace, m.target, m.chain)
            for m, (lat, _) in zip(traced, lats)]


def test_fit_recovers_per_engine_instruction_times_and_scales(traced):
    ms = _measured(traced, PER_ENGINE)
    result = fit(ms, "trn1", list(PER_ENGINE), prior_weight=1e-6)  # noiseless: nothing to hold back
    for name, true in PER_ENGINE.items():
        assert result.parameters[name] == pytest.approx(true, rel=0.05), name
    assert result.selected == list(PER_ENGINE)
    assert result.before.rms_log_error > 0.1 and result.after.rms_log_error < 0.01


def test_default_fit_moves_only_what_the_measurements_support(traced):
    """Only the Vector engine's per-instruction time is off: cross-validation picks it (or nothing
    that the data cannot see) and leaves the DMA, Tensor and launch numbers where they were."""
    ms = _measured(traced, {"dve_instruction_ns": 400.0})
    result = fit(ms, "trn1")
    assert "dve_instruction_ns" in result.selected
    assert result.parameters["dve_instruction_ns"] == pytest.approx(400.0, rel=0.15)
    assert result.after.rms_log_error < result.before.rms_log_error / 3
    for name in ("dma_engine_bytes_per_ns", "pe_cycle_scale", "launch_overhead_ns"):
        assert name not in result.selected
    assert set(result.calibration().parameters) == set(result.selected)
    assert result.selection["path"][0]["parameters"] == []  # the starting values are always a candidate


def test_noise_alone_moves_nothing(traced):
    """Measurements that differ from the model only by noise: no parameter beats the noise, so the
    calibration keeps the starting values (shrinkage all the way)."""
    ms = _measured(traced, {}, noise=0.08, seed=3)
    result = fit(ms, "trn1")
    assert result.selected == []
    assert result.model_after_us == result.model_before_us
    assert result.calibration().parameters == {}
    # Half of the set (one measurement per kernel and size class): still nothing to move.
    first, _ = split_halves(ms)
    assert fit([ms[i] for i in first], "trn1").selected == []


def test_choose_keeps_the_start_for_pure_noise_and_picks_the_real_column():
    rng = random.Random(7)
    n = 16
    noise = [rng.gauss(0.0, 0.1) for _ in range(n)]
    cols = [[rng.gauss(0.0, 1.0) for _ in range(n)] for _ in range(4)]
    # residuals unrelated to every column: nothing to fit
    assert choose(["a", "b", "c", "d"], cols, noise).names == ()
    # residuals that column "c" explains (a step of -0.3 would cancel them): "c" only
    res = [0.3 * c + e * 0.2 for c, e in zip(cols[2], noise)]
    picked = choose(["a", "b", "c", "d"], cols, res)
    assert picked.names == ("c",)
    (step,) = ridge_step([cols[2]], res, picked.prior)
    assert step == pytest.approx(-0.3, abs=0.05)


def test_a_stronger_pull_shrinks_the_step_and_bounds_clip_held_out_fits():
    cols = [[1.0, 1.0, 1.0, 1.0]]
    res = [0.4, 0.4, 0.4, 0.4]
    weak, strong = ridge_step(cols, res, 1e-4)[0], ridge_step(cols, res, 1.0)[0]
    assert weak == pytest.approx(-0.4, rel=1e-3) and -0.4 < strong < -0.1
    free, _ = cv_error(cols, res, 1e-4)
    clipped, _ = cv_error(cols, res, 1e-4, bounds=[(-0.1, 0.1)])
    assert free == pytest.approx(0.0, abs=1e-6) and clipped == pytest.approx(0.09, rel=1e-3)


def test_calibrating_on_half_of_a_noisy_set_lowers_the_error_on_the_other_half(traced):
    truth = {"dve_instruction_ns": 300.0, "dma_engine_bytes_per_ns": 12.0, "pe_cycle_scale": 1.25}
    ms = _measured(traced, truth, noise=0.03, seed=11)
    first, second = split_halves(ms)
    train, held = [ms[i] for i in first], [ms[i] for i in second]
    result = fit(train, "trn1")
    assert result.selected
    base = get_target("trn1")
    before = [lat for lat, _ in trace_evaluator(held, base)([{}])[0]]
    after = [lat for lat, _ in trace_evaluator(held, base)([result.changed])[0]]
    measured = [m.measured_us for m in held]
    err_before, err_after = error_stats(measured, before), error_stats(measured, after)
    assert err_after.rms_log_error < 0.6 * err_before.rms_log_error, (err_before, err_after, result.changed)
    assert err_after.median_abs_pct < err_before.median_abs_pct


def test_calibration_from_a_wrong_start_file_comes_back(traced):
    """A start file with the DMA rate off by 2x: calibrating on half brings the other half back."""
    ms = _measured(traced, {}, noise=0.02, seed=5)
    wrong = CalibrationFile("trn1", {"dma_engine_bytes_per_ns": 8.5})
    first, second = split_halves(ms)
    result = fit([ms[i] for i in first], start=wrong)
    assert "dma_engine_bytes_per_ns" in result.selected
    assert result.parameters["dma_engine_bytes_per_ns"] == pytest.approx(17.0, rel=0.15)
    held = [ms[i] for i in second]
    tgt = wrong.apply()
    before = [lat for lat, _ in trace_evaluator(held, tgt)([{}])[0]]
    after = [lat for lat, _ in trace_evaluator(held, tgt)([result.changed])[0]]
    measured = [m.measured_us for m in held]
    assert error_stats(measured, after).rms_log_error < 0.5 * error_stats(measured, before).rms_log_error


def test_the_path_is_shown_one_added_parameter_per_line_with_the_choice_marked():
    from autocomp.perf.crossval import path_lines

    path = {"path": [{"parameters": [], "prior_weight": 0.0, "cv_rms_log_error": 0.2},
                     {"parameters": ["a"], "prior_weight": 0.1, "cv_rms_log_error": 0.1},
                     {"parameters": ["a", "b"], "prior_weight": 0.01, "cv_rms_log_error": 0.09}]}
    lines = path_lines(path, ["a"])
    assert lines[0].startswith(" ") and "(starting values)" in lines[0]
    assert lines[1].startswith("*") and "+ a (pull 0.1)" in lines[1]
    assert "+ b (pull 0.01)" in lines[2] and "a," not in lines[2]
