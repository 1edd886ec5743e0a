"""Neuron Explorer profiles kept in the run (store/device_profiles.py), and `optimize --backend auto` on the fake
current SDK: two-tier like --backend hw, the choice recorded (docs/evaluation.md#device-profiles-in-the-run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.evaluate import Evaluator
from autocomp.evaluate.backends import get_backend
from autocomp.evaluate.device_capture import NEFF_FILE, NTFF_FILE, STAGED_MARKER, SUMMARY_FILE
from autocomp.problem import Problem
from autocomp.store import RunReader, RunStore
from autocomp.store.device_profiles import keep_device_profiles
from autocomp.store.reader import HW
from tests.fakes.eval_support import problem
from tests.fakes.fake_hw_sdk import make_fake_sdk, write_sdk_config, write_small_silu_problem
from tests.fakes.store_fixtures import write_problem

ADD = problem("v2_add")
BASELINE = ADD.baseline_source


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory):
    """`autocomp optimize --backend auto --hw-profile` on silu_bf16 at small shapes (several shapes, each captured)
    with the fake SDK named in a config file."""
    tmp = tmp_path_factory.mktemp("auto")
    opts = make_fake_sdk(tmp / "sdk", cores=3)
    cfg = tmp / "sdk.toml"
    write_sdk_config(cfg, opts)
    runs = tmp / "runs"
    problem = write_small_silu_problem(tmp / "problems")
    res = CliRunner().invoke(app, ["optimize", str(problem), "--agent", "knobs", "--backend", "auto", "--hw-profile",
                                   "--config", str(cfg), "--iterations", "1", "--beam", "2", "--workers", "2",
                                   "--hw-top-k", "1", "--runs-dir", str(runs), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{\n"):])
    return out, runs / out["run_id"], res.output


def _show(run_dir: Path, *extra: str):
    res = CliRunner().invoke(app, ["runs", "show", "--runs-dir", str(run_dir.parent), run_dir.name, *extra],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_optimize_backend_auto_measures_like_hw_and_records_what_it_chose(auto_run):
    out, run_dir, output = auto_run
    assert out["status"] == "finished" and out["evidence"] == "hw" and out["backend"] == "hw"
    assert out["backend_choice"].startswith("--backend auto chose hw: Neuron SDK found (nki 0.7.0, nrtpy 0.7.0)")
    assert "note: --backend auto chose hw" in output  # said before anything was evaluated
    with RunReader.open_readonly(run_dir) as reader:
        config = reader.config()
    assert config["evaluation"]["backend"] == "hw"  # --resume and --config take the resolved backend
    assert config["backend_choice"] == out["backend_choice"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    chosen = [e for e in events if e["kind"] == "backend"]
    assert len(chosen) == 1 and chosen[0]["requested"] == "auto" and chosen[0]["chosen"] == "hw"
    assert any(e["kind"] == "hw_selected" for e in events)  # two-tier: sim triage, then the device
    shown = json.loads(_show(run_dir, "--json"))
    rows = shown["tiers"]
    assert all(r["sim_evidence"] == "sim" for r in rows) and any(r["hw_status"] == "correct" for r in rows)


def test_every_hardware_measurement_keeps_its_explorer_profile_in_the_run(auto_run):
    out, run_dir, _ = auto_run
    with RunReader.open_readonly(run_dir) as reader:
        measured = reader.evaluations(purpose=HW)
        assert measured
        for evaluation in measured:
            entries = evaluation.result["device_profiles"]
            # silu_bf16 is timed at every declared shape: one capture each, in the record by shape
            assert {e["shape"] for e in entries} == {s["name"] for s in evaluation.result["shapes"]}
            assert len(entries) > 1
            for entry in entries:
                directory = run_dir / entry["path"]
                assert entry["path"].startswith("profiles/") and "staged" not in entry
                assert sorted(p.name for p in directory.iterdir()) == sorted([NEFF_FILE, NTFF_FILE, SUMMARY_FILE])
                summary = json.loads((directory / SUMMARY_FILE).read_text())
                assert entry["profile_id"] in summary and summary[entry["profile_id"]]["total_time"] > 0
    text = _show(run_dir)
    assert "device profiles" in text and f"neuron-explorer view -n DIR/{NEFF_FILE} -s DIR/{NTFF_FILE}" in text
    rows = json.loads(_show(run_dir, "--json"))["device_profiles"]
    assert {r["purpose"] for r in rows} >= {"hw"} and all(Path(r["dir"]).is_dir() for r in rows)
    assert all(r["open"] == f"neuron-explorer view -n {r['dir']}/{NEFF_FILE} -s {r['dir']}/{NTFF_FILE}" for r in rows)
    html = run_dir.parent / "report.html"
    assert CliRunner().invoke(app, ["report", str(run_dir), "-o", str(html)]).exit_code == 0
    page = html.read_text()
    assert "Device profiles (Neuron Explorer)" in page and rows[0]["path"] in page


@pytest.fixture(scope="module")
def profiling(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdk")
    evaluator = Evaluator(get_backend("hw", **make_fake_sdk(root, cores=2), profile=True), workers=1,
                          cache=False, timeout_s=120)
    yield evaluator
    evaluator.close()


def _store(tmp_path: Path) -> tuple[RunStore, int]:
    store = RunStore.create(tmp_path / "runs", Problem.load(write_problem(tmp_path / "p")), {})
    return store, store.add_candidate(BASELINE, origin="baseline", iteration=0)


def test_a_failing_capture_costs_the_profile_never_the_measurement(profiling, tmp_path):
    r = profiling.evaluate(ADD, BASELINE + "\nFAKE_EXPLORER_FAIL = True\n")
    assert r.status == "correct" and r.latency_us > 0, r.reason  # the benchmark's latency stands
    assert "tool_error" not in r.flags
    assert any("no device profile: neuron-explorer capture failed" in w for w in r.warnings)
    assert "device trace buffer overflow" in r.device_profiles[0]["error"]
    store, cid = _store(tmp_path)
    store.record_evaluation(cid, r, purpose=HW)
    assert store.evaluation(cid, HW).result["device_profiles"][0]["error"]
    events = [json.loads(line) for line in (store.root / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "notice" and "no Neuron Explorer profile" in e["message"] for e in events)
    store.close()
    assert "not captured: neuron-explorer capture failed" in _show(store.root)


def test_an_oversized_capture_is_dropped_with_a_notice_and_the_evaluation_lands(profiling, tmp_path):
    r = profiling.evaluate(ADD, BASELINE + "\n# oversized\n")
    staged = Path(r.device_profiles[0]["staged"])
    assert r.status == "correct" and (staged / NTFF_FILE).is_file()
    store, cid = _store(tmp_path)
    store.profile_max_bytes = 100
    store.record_evaluation(cid, r, purpose=HW)
    entry = store.evaluation(cid, HW).result["device_profiles"][0]
    assert store.evaluation(cid, HW).latency_us == r.latency_us
    assert "over the" in entry["note"] and "hw_profile_max_mb" in entry["note"] and "path" not in entry
    assert not staged.exists() and not (store.root / "profiles").exists()
    events = [json.loads(line) for line in (store.root / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "notice" and "over the" in e["message"] for e in events)
    store.close()


def test_a_profile_that_cannot_be_copied_leaves_a_note_and_the_evaluation(profiling, tmp_path):
    r = profiling.evaluate(ADD, BASELINE + "\n# unwritable\n")
    store, cid = _store(tmp_path)
    (store.root / "profiles").write_text("a file where the directory would go")
    store.record_evaluation(cid, r, purpose=HW)
    evaluation = store.evaluation(cid, HW)
    assert evaluation.status == "correct" and "copying it into the run failed" in \
        evaluation.result["device_profiles"][0]["note"]
    assert not Path(r.device_profiles[0]["staged"]).exists()
    store.close()


def test_a_cached_answer_carries_no_staged_files_and_close_removes_what_no_run_took(tmp_path):
    root = tmp_path / "sdk"
    evaluator = Evaluator(get_backend("hw", **make_fake_sdk(root, cores=1), profile=True), workers=1,
                          cache_dir=tmp_path / "cache", timeout_s=120)
    try:
        first = evaluator.evaluate(ADD, BASELINE + "\n# cached\n")
        again = evaluator.evaluate(ADD, BASELINE + "\n# cached\n")
        assert first.device_profiles and not first.cache_hit
        assert again.cache_hit and again.device_profiles == []  # the files belong to the first measurement
        staged = Path(first.device_profiles[0]["staged"])
        assert staged.is_dir()
    finally:
        evaluator.close()
    assert not staged.exists()


def test_only_a_staged_capture_is_moved_never_another_directory(tmp_path):
    victim = tmp_path / "somewhere"
    victim.mkdir()
    (victim / NTFF_FILE).write_text("not the backend's")
    (victim / NEFF_FILE).write_text("x")
    entries, notices = keep_device_profiles(tmp_path / "run", 3, "hw", [{"staged": str(victim)}], 1 << 20)
    assert "no longer staged" in entries[0]["note"] and notices == []
    assert (victim / NTFF_FILE).is_file() and not (tmp_path / "run").exists()
    (victim / STAGED_MARKER).write_text("")
    (victim / "other.txt").write_text("left alone")
    entries, _ = keep_device_profiles(tmp_path / "run", 3, "hw", [{"staged": str(victim), "shape": "s/../x"}],
                                      1 << 20)
    kept = tmp_path / "run" / entries[0]["path"]
    assert kept.parent == tmp_path / "run" / "profiles" and sorted(p.name for p in kept.iterdir()) == \
        [NEFF_FILE, NTFF_FILE]
    assert (victim / "other.txt").is_file()  # only the capture's known files are taken
