"""A run's calibration (kept with the run, used on resume, refused when it changes) and its verdict on the
win (a sim speedup inside the cost model's error "needs hardware confirmation"; ranking stays by estimate)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import autocomp
import autocomp.explore
from autocomp.cli import app
from autocomp.perf.calibration_source import read_calibration_source
from autocomp.perf.uncertainty import UNMEASURED
from autocomp.search import runner as runner_module
from autocomp.search.config import ConfigError
from autocomp.search.display import summary_lines
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.runner import SearchError
from autocomp.search.selection import rank
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator


def calibration_file(path: Path, *, target: str = "trn1", rate: float = 9.0) -> Path:
    path.write_text(f'format = 1\ntarget = "{target}"\n[parameters]\ndma_engine_bytes_per_ns = {rate}\n',
                    encoding="utf-8")
    return path


class BandedEvaluator(FakeEvaluator):
    """The fake evaluator's results with an estimate class and error band, as the cost model gives them."""

    def __init__(self, latency=None, calibration=None):
        super().__init__(latency)
        self.calibration = calibration

    def evaluate(self, problem, source, *, seeds=None):
        result = super().evaluate(problem, source, seeds=seeds)
        if result["status"] == "correct":
            result["profile"].update(estimate_class="dma", uncertainty=UNMEASURED.to_dict())
            result["calibration"] = self.calibration.label if self.calibration is not None else None
        return result


@pytest.fixture
def made_evaluators(monkeypatch):
    """The run's own evaluator is a BandedEvaluator holding the calibration the run gave it."""
    made = []

    def fake_default_evaluator(config, calibration=None):
        made.append(BandedEvaluator(calibration=calibration))
        return made[-1]

    monkeypatch.setattr(runner_module, "default_evaluator", fake_default_evaluator)
    return made


def test_a_calibrated_run_keeps_its_calibration_and_resume_uses_that_copy(tmp_path, problem_dir, made_evaluators):
    cal = calibration_file(tmp_path / "trn1.toml")
    original = read_calibration_source(cal)
    first = autocomp.optimize(problem_dir, agent="knobs", out=tmp_path / "runs", workers=2, iterations=1,
                              calibration=cal)
    assert first.status == "finished" and first.calibration == original.label
    assert made_evaluators[-1].calibration.sha256 == original.sha256
    with RunReader.open_readonly(first.run_dir) as reader:
        assert reader.calibration_text() == cal.read_text()
        assert reader.config()["evaluation"]["calibration"] == str(cal)
        assert reader.config()["calibration_sha256"] == original.sha256
        assert reader.evaluation(first.best_candidate).result["calibration"] == original.label
        assert reader.profile(first.best_candidate)["calibration"] == original.label  # the profile record too
        assert any(e["kind"] == "calibration" and e["label"] == original.label for e in reader.events())
    calibration_file(cal, rate=4.0)  # the file at the old path changes after the run started
    with pytest.raises(ConfigError, match=r"--calibration .*trn1\.toml \(sha256:\w+\) is not the calibration run"):
        autocomp.optimize(resume=first.run_dir, out=tmp_path / "runs", iterations=2, calibration=cal)
    second = autocomp.optimize(resume=first.run_dir, out=tmp_path / "runs", iterations=2)
    assert second.status == "finished" and second.calibration == original.label
    assert made_evaluators[-1].calibration.text == original.text  # the run's copy, not the changed file


def test_resume_refuses_a_calibration_the_run_did_not_start_with_or_a_changed_copy(tmp_path, problem_dir,
                                                                                   made_evaluators):
    plain = autocomp.optimize(problem_dir, agent="knobs", out=tmp_path / "runs", workers=2, iterations=1)
    assert plain.calibration is None and made_evaluators[-1].calibration is None
    cal = calibration_file(tmp_path / "trn1.toml")
    with pytest.raises(ConfigError, match="started with the built-in cost model"):
        autocomp.optimize(resume=plain.run_dir, out=tmp_path / "runs", calibration=cal)
    calibrated = autocomp.optimize(problem_dir, agent="knobs", out=tmp_path / "runs", workers=2, iterations=1,
                                   calibration=cal)
    (calibrated.run_dir / "calibration.toml").write_text(cal.read_text() + "# edited\n")
    with pytest.raises(ConfigError, match=r"calibration\.toml: changed since run"):
        autocomp.optimize(resume=calibrated.run_dir, out=tmp_path / "runs")


def test_a_bad_or_mismatched_calibration_leaves_no_run_behind(tmp_path, problem_dir, made_evaluators):
    runs = tmp_path / "runs"
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\ntarget = "trn1"\n[parameters]\ncompute_cycle_scale = -1\n')
    res = CliRunner().invoke(app, ["optimize", str(problem_dir), "--agent", "knobs", "--runs-dir", str(runs),
                                   "--calibration", str(bad)])
    assert res.exit_code == 2 and "bad.toml: parameters.compute_cycle_scale = -1" in res.output
    with pytest.raises(SearchError, match=r"trn2\.toml: a calibration for trn2, but this run is on trn1"):
        autocomp.optimize(problem_dir, agent="knobs", out=runs, calibration=calibration_file(
            tmp_path / "trn2.toml", target="trn2"))
    assert not runs.exists() or not any(runs.iterdir())
    assert made_evaluators[-1].calibration.target == "trn2" and not made_evaluators[-1].calls  # nothing evaluated


def _win_run(tmp_path, problem_dir, latency):
    return autocomp.optimize(problem_dir, agent="knobs", evaluator=BandedEvaluator(latency), out=tmp_path / "runs",
                             workers=2)


def test_a_speedup_inside_the_error_bar_needs_hardware_confirmation_everywhere(tmp_path, problem_dir):
    # 8% faster at TILE_F = 512: within the unmeasured band's within-chain error (a factor of 1.6).
    result = _win_run(tmp_path, problem_dir, lambda c: 100.0 - c.get("TILE_F", 64) / 64)
    assert "TILE_F = 512" in result.best_source  # ranking is by estimate: the fastest estimate still wins
    assert result.speedup == pytest.approx(99 / 92)
    assert result.win == "needs hardware confirmation"
    assert result.speedup_low < 1 < result.speedup_high
    assert result.speedup_low == pytest.approx(result.speedup / 1.6) and "both dma-bound" in result.win_reason
    text = "\n".join(summary_lines(result))
    assert re.search(r"needs hardware confirmation.*: the estimated speedup may not be real on hardware: true "
                     r"speedup 0\.67x-1\.72x at 90%", text)
    with RunReader.open_readonly(result.run_dir) as reader:
        recorded = [e for e in reader.events() if e["kind"] == "result"][-1]
        assert recorded["win"] == "needs hardware confirmation" and recorded["candidate"] == result.best_candidate
        assert recorded["speedup_low"] == pytest.approx(result.speedup_low)
    with autocomp.open_run(result.run_dir) as run:
        assert run.win.label == "needs hardware confirmation" and "needs hardware confirmation" in repr(run)
        assert "needs hardware confirmation: true speedup 0.67x–1.72x" in run.report(reprofile=False)
    shown = CliRunner().invoke(app, ["runs", "show", str(result.run_dir)])
    assert "needs hardware confirmation: true speedup 0.67x-1.72x" in shown.output


def test_a_speedup_beyond_the_error_bar_is_a_certain_win(tmp_path, problem_dir):
    result = _win_run(tmp_path, problem_dir, lambda c: 1000.0 / c.get("TILE_F", 1))  # 8x
    assert result.win == "certain win" and result.speedup_low > 1
    assert any("certain win" in line for line in summary_lines(result))
    with autocomp.open_run(result.run_dir) as run:
        assert run.win.certain and "needs hardware" not in repr(run)


def test_hardware_results_get_no_estimate_verdict(tmp_path, problem_dir):
    result = autocomp.optimize(problem_dir, agent="knobs", evaluator=FakeEvaluator(evidence="hw"),
                               out=tmp_path / "runs", workers=2)
    assert result.evidence == "hw" and result.win is None and result.speedup > 1
    assert not any("confirmation" in line or "certain" in line for line in summary_lines(result))


def _node(i: int, latency: float, band_sigma: float) -> Node:
    n = Node(id=i, source=f"K = {i}\n", iteration=1, origin="llm")
    summary = {"total_time": latency * 1e-6, "estimate_class": "dma",
               "uncertainty": {**UNMEASURED.to_dict(), "log_sigma": band_sigma, "pair_sigma": band_sigma}}
    n.outcome = Outcome(status="correct", latency_us=latency, profile_summary=summary)
    return n


def test_ranking_inside_the_beam_is_by_estimate_whatever_the_error_bar():
    """The decision (docs/cost-model.md): the interval labels results, it does not rank them."""
    sure, unsure = _node(1, 100.0, 0.01), _node(2, 99.0, 2.0)
    assert [n.id for n in rank([sure, unsure], iteration=2)] == [2, 1]


def test_reevaluate_can_use_the_runs_own_calibration(tmp_path, problem_dir, made_evaluators, monkeypatch):
    cal = calibration_file(tmp_path / "trn1.toml")
    result = autocomp.optimize(problem_dir, agent="knobs", out=tmp_path / "runs", workers=2, iterations=1,
                               calibration=cal)
    given = []

    def fake(problem_dir, source, target, backend="sim", calibration=None, variant=None):
        given.append(calibration)
        return BandedEvaluator(calibration=calibration).evaluate(None, source)

    monkeypatch.setattr(autocomp.explore, "_default_evaluator", fake)
    with autocomp.open_run(result.run_dir) as run:
        ev = run.reevaluate(run.best, target="trn1", calibration="run")
        plain = run.reevaluate(run.best, target="trn1")
        with pytest.raises(Exception, match="cannot read the calibration file"):
            run.reevaluate(run.best, target="trn1", calibration=tmp_path / "missing.toml")
    sha = read_calibration_source(cal).sha256
    assert given[0].sha256 == sha and given[1] is None
    assert ev.purpose == f"reevaluate:sim:trn1:cal-{sha[:12]}" and plain.purpose == "reevaluate:sim:trn1"
    assert ev.result["calibration"] == given[0].label
