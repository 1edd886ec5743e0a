"""`autocomp calibrate --from-runs`: hardware latencies stored in run directories become measurements, each
stored kernel traced again through the sandboxed evaluator (never run in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.perf.calibration import load_calibration
from autocomp.problem import Problem
from autocomp.store import RunStore
from autocomp.store.hw_evidence import FromRunsError, hw_evaluations
from tests.fakes.calibration_runs import KERNELS, TRUTH, build_hw_run, kernel, write_problem

runner = CliRunner()


@pytest.fixture(scope="module")
def trn1_problem(tmp_path_factory) -> Problem:
    return Problem.load(write_problem(tmp_path_factory.mktemp("problems") / "affine"))


def hostile(marker: Path) -> str:
    """A correct kernel whose module also writes a file: it must never run outside the sandbox."""
    return kernel(1024) + f"\nopen({str(marker)!r}, 'w').write('ran in the parent')\n"


def test_from_runs_recovers_the_parameters_that_made_the_stored_latencies(tmp_path, trn1_problem):
    marker = tmp_path / "hostile-ran"
    sources = [*KERNELS, hostile(marker)]
    run = build_hw_run(tmp_path / "runs", trn1_problem, sources[:-1], tmp_path)
    with RunStore.open(run) as store:
        cid = store.add_candidate(sources[-1], origin="llm", iteration=1, parent_id=1)
        store.record_evaluation(cid, {"status": "correct", "reason": "measured", "latency_us": 50.0,
                                      "evidence": "hw", "target": "trn1"})
    assert len(hw_evaluations([run])) == len(sources)
    out = tmp_path / "fitted.toml"
    res = runner.invoke(app, ["calibrate", "--from-runs", str(run), "-o", str(out),
                              "--params", "compute_cycle_scale,dma_engine_bytes_per_ns"])
    assert res.exit_code == 0, res.output
    assert f"tracing {len(sources)} stored kernels measured on trn1, each in the sandbox" in res.output
    assert f"{run.name}#{cid}: left out" in res.output and not marker.exists()
    cal = load_calibration(out)
    for name, true in TRUTH.items():
        assert cal.parameters[name] == pytest.approx(true, rel=0.03), name
    assert cal.fit["measurements"] == len(KERNELS) and cal.fit["after"]["median_abs_pct_error"] < 2


def test_a_run_without_hardware_evaluations_is_named(tmp_path, trn1_problem):
    run = build_hw_run(tmp_path / "runs", trn1_problem, KERNELS[:2], tmp_path, evidence="sim",
                       latencies=[20.0, 25.0])
    res = runner.invoke(app, ["calibrate", "--from-runs", str(run), "-o", str(tmp_path / "x.toml")])
    assert res.exit_code == 2
    assert f"{run}: no correct hardware (hw) evaluations to calibrate from (only sim evaluations)" in \
        " ".join(res.output.split())
    res = runner.invoke(app, ["calibrate", "--from-runs", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "not a run directory" in res.output
    with pytest.raises(FromRunsError, match="no correct hardware"):
        hw_evaluations([run])


def test_mixed_targets_are_refused_unless_one_is_picked(tmp_path, trn1_problem):
    trn2_problem = Problem.load(write_problem(tmp_path / "problems" / "affine2", target="trn2"))
    one = build_hw_run(tmp_path / "runs", trn1_problem, KERNELS[:2], tmp_path, latencies=[20.0, 25.0])
    two = build_hw_run(tmp_path / "runs", trn2_problem, KERNELS[:3], tmp_path, target="trn2",
                       latencies=[10.0, 12.0, 14.0])
    res = runner.invoke(app, ["calibrate", "--from-runs", str(one), str(two), "-o", str(tmp_path / "x.toml")])
    assert res.exit_code == 2, res.output
    assert "measurements for trn1 (2), trn2 (3); a calibration is for one target: pick one with --target" in \
        " ".join(res.output.split())
    res = runner.invoke(app, ["calibrate", "--from-runs", str(one), "--target", "trn3", "--json"])
    assert res.exit_code == 2 and "no hardware evaluations on trn3" in json.loads(res.output)["error"]


def test_without_from_runs_only_one_csv_is_taken(tmp_path):
    res = runner.invoke(app, ["calibrate", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])
    assert res.exit_code == 2 and "pass --from-runs" in res.output
