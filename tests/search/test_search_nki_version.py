"""``optimize --nki-version``: the run's evaluator follows the pinned NKI release, config.toml records it,
and a resumed run keeps it (another pin on resume is refused, as a changed --calibration is)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import autocomp
from autocomp.cli import app
from autocomp.search import runner as runner_module
from autocomp.search.config import ConfigError, build_config
from autocomp.search.runner import SearchError
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator


@pytest.fixture
def pins(monkeypatch):
    """The NKI release each evaluator the runs build is given."""
    seen = []

    def fake_default_evaluator(config, calibration=None):
        seen.append(config.evaluation.nki_version)
        return FakeEvaluator()

    monkeypatch.setattr(runner_module, "default_evaluator", fake_default_evaluator)
    return seen


def test_the_pin_reaches_the_evaluator_is_recorded_and_kept_on_resume(tmp_path, problem_dir, pins):
    first = autocomp.optimize(problem_dir, agent="knobs", runs_dir=tmp_path / "runs", workers=2, iterations=1,
                              nki_version="0.6.0")
    assert first.status == "finished" and pins == ["0.6"]
    with RunReader.open_readonly(first.run_dir) as reader:
        assert reader.config()["evaluation"]["nki_version"] == "0.6"
    with pytest.raises(SearchError, match=r"--nki-version 0\.7: run .* was started with NKI 0\.6"):
        autocomp.optimize(resume=first.run_dir, runs_dir=tmp_path / "runs", iterations=2, nki_version="0.7")
    second = autocomp.optimize(resume=first.run_dir, runs_dir=tmp_path / "runs", iterations=2)
    assert second.status == "finished" and pins[-1] == "0.6"
    third = autocomp.optimize(resume=first.run_dir, runs_dir=tmp_path / "runs", iterations=3, nki_version="0.6")
    assert third.status == "finished" and pins[-1] == "0.6"


def test_resume_refuses_a_pin_the_run_did_not_start_with(tmp_path, problem_dir, pins):
    plain = autocomp.optimize(problem_dir, agent="knobs", runs_dir=tmp_path / "runs", workers=2, iterations=1)
    assert pins == [None]
    with pytest.raises(SearchError, match="started with no --nki-version"):
        autocomp.optimize(resume=plain.run_dir, runs_dir=tmp_path / "runs", nki_version="0.6")


def test_an_unmodelled_release_is_refused_before_a_run_exists(tmp_path, problem_dir, pins):
    with pytest.raises(ConfigError, match=r"NKI version 0\.5 is not modelled; pin one of 0\.6, 0\.7"):
        build_config({}, nki_version="0.5")
    runs = tmp_path / "runs"
    res = CliRunner().invoke(app, ["optimize", str(problem_dir), "--agent", "knobs", "--runs-dir", str(runs),
                                   "--nki-version", "0.5"])
    assert res.exit_code == 2 and "0.5 is not modelled" in res.output
    assert not runs.exists() and pins == []


def test_the_default_evaluator_follows_the_configured_release():
    evaluator = runner_module.default_evaluator(build_config({}, backend="sim", nki_version="0.6", workers=1))
    assert evaluator.nki_version == "0.6"
    assert runner_module.default_evaluator(build_config({}, backend="sim", workers=1)).nki_version is None
