"""A cost-model calibration in the evaluator: it changes sim estimates only, keys the cache, reaches the trusted
measuring half and never the sandboxed worker, and a bad or mismatched file is refused before any evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.evaluate import evaluator as evaluator_module
from autocomp.evaluate.backends import SimBackend
from autocomp.evaluate.measurer import MeasurerPool
from autocomp.perf.calibration_source import read_calibration_source
from tests.fakes.eval_support import PROBLEMS, kernel_source, problem

HONEST = kernel_source("honest/muladd_isa.py")
MARKER = "calibration-marker-7f3k"  # a comment only the calibration file holds


def calibration_file(path: Path, *, target: str = "trn1", rate: float = 6.0, body: str = "") -> Path:
    path.write_text(f'format = 1\ntarget = "{target}"\n# {MARKER}\n[parameters]\n'
                    f"dma_engine_bytes_per_ns = {rate}\n{body}", encoding="utf-8")
    return path


def test_calibrated_estimates_differ_name_their_calibration_and_never_share_a_cache_entry(tmp_path):
    cache = tmp_path / "cache"
    slow = calibration_file(tmp_path / "slow.toml")  # a third of the DMA rate: the DMA-bound kernel slows down
    label = read_calibration_source(slow).label
    plain = Evaluator("sim", workers=1, cache_dir=cache)
    try:
        built_in = plain.evaluate(problem("ew_muladd"), HONEST)
    finally:
        plain.close()
    assert built_in.status == "correct" and built_in.calibration is None and not built_in.profile["calibration"]
    calibrated = Evaluator("sim", workers=1, cache_dir=cache, calibration=slow)
    try:
        first = calibrated.evaluate(problem("ew_muladd"), HONEST)
        again = calibrated.evaluate(problem("ew_muladd"), HONEST)
    finally:
        calibrated.close()
    # The uncalibrated verdict in the same cache was not served: a fresh, slower estimate, named as such.
    assert first.status == "correct" and not first.cache_hit
    assert first.latency_us > 1.1 * built_in.latency_us
    assert first.calibration == label == f"slow.toml sha256:{read_calibration_source(slow).sha256[:12]}"
    assert first.profile["calibration"] == label
    assert first.profile["total_time_low"] < first.profile["total_time"] < first.profile["total_time_high"]
    assert again.cache_hit and again.latency_us == first.latency_us and again.calibration == label
    # Same file name, other content: another cost model, another cache entry.
    (tmp_path / "other").mkdir()
    other = calibration_file(tmp_path / "other" / "slow.toml", rate=9.0)
    changed = Evaluator("sim", workers=1, cache_dir=cache, calibration=other)
    try:
        third = changed.evaluate(problem("ew_muladd"), HONEST)
    finally:
        changed.close()
    assert not third.cache_hit and built_in.latency_us < third.latency_us < first.latency_us
    assert third.calibration != label


def test_the_calibration_reaches_the_measurer_but_never_the_sandboxed_worker(tmp_path, monkeypatch):
    cal = calibration_file(tmp_path / "cal.toml")
    seen: list[str] = []
    real_write_job = evaluator_module.write_job

    def spying_write_job(job_dir, **kwargs):
        job = real_write_job(job_dir, **kwargs)
        # Everything the worker can read: the job directory as written, and the job it is told to run.
        for path in Path(job_dir.root).rglob("*"):
            if path.is_file():
                seen.append(path.read_bytes().decode("latin-1"))
        seen.append(job.model_dump_json())
        return job

    monkeypatch.setattr(evaluator_module, "write_job", spying_write_job)
    ev = Evaluator("sim", workers=1, cache=False, calibration=cal)
    try:
        assert MARKER in json.dumps(MeasurerPool(ev.backend, 1).backend_options)  # the trusted half gets it
        assert ev.backend.options() == {}  # what a worker is re-created from
        result = ev.evaluate(problem("ew_muladd"), HONEST)
    finally:
        ev.close()
    assert result.status == "correct" and result.calibration.startswith("cal.toml sha256:")
    assert len(seen) >= 4 and not any(MARKER in text or "dma_engine_bytes_per_ns" in text for text in seen)


def test_a_bad_or_mismatched_calibration_is_refused_before_any_evaluation(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\ntarget = "trn1"\n[parameters]\ndma_engine_bytes_per_ns = "fast"\n')
    with pytest.raises(EvaluatorError, match=r"bad\.toml: parameters\.dma_engine_bytes_per_ns must be a number"):
        Evaluator("sim", workers=1, cache=False, prespawn=False, calibration=bad)
    trn2 = calibration_file(tmp_path / "trn2.toml", target="trn2")
    ev = Evaluator("sim", workers=1, cache=False, prespawn=False, calibration=trn2)
    try:
        with pytest.raises(EvaluatorError, match=r"trn2\.toml: a calibration for trn2, but this evaluation is on "
                                                 r"trn1"):
            ev.evaluate(problem("ew_muladd"), HONEST)
        assert not ev._baselines  # nothing ran
    finally:
        ev.close()


class _HardwareStandIn(SimBackend):
    evidence = "hw"


def test_a_backend_with_hardware_evidence_ignores_the_calibration(tmp_path):
    ev = Evaluator(_HardwareStandIn(), workers=1, cache=False, prespawn=False,
                   calibration=calibration_file(tmp_path / "cal.toml"))
    try:
        assert ev.calibration is None and ev.backend.calibration is None
        assert "calibration" not in ev._settings(False)
    finally:
        ev.close()


def test_eval_command_takes_a_calibration_and_refuses_a_bad_one(tmp_path):
    runner = CliRunner()
    kernel = tmp_path / "muladd.py"
    kernel.write_text(HONEST)
    prob = str(PROBLEMS / "ew_muladd")
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\ntarget = "trn1"\n[parameters]\nwarp_speed = 2.0\n')
    res = runner.invoke(app, ["eval", prob, str(kernel), "--calibration", str(bad), "--json"])
    assert res.exit_code == 2 and "bad.toml: parameters.warp_speed is not a calibration parameter" in res.output
    res = runner.invoke(app, ["eval", prob, str(kernel), "--calibration", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "missing.toml: cannot read the calibration file" in res.output
    trn2 = calibration_file(tmp_path / "trn2.toml", target="trn2")
    res = runner.invoke(app, ["eval", prob, str(kernel), "--calibration", str(trn2)])
    assert res.exit_code == 2 and "a calibration for trn2, but this evaluation is on trn1" in res.output
    good = calibration_file(tmp_path / "good.toml")
    res = runner.invoke(app, ["eval", prob, str(kernel), "--calibration", str(good), "--json", "--no-cache"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["calibration"] == read_calibration_source(good).label and out["evidence"] == "sim"
    assert out["profile"]["calibration"] == out["calibration"]
