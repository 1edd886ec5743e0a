"""`autocomp runs list|show|diff|export` and `autocomp report` through the real CLI app."""

from __future__ import annotations

from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.store import RunReader, RunStore
from tests.fakes.store_fixtures import VARIANT, build_run

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_shows_one_row_per_run_with_best_speedup_and_spend(runs_dir, problem, run_dir):
    with RunStore.create(runs_dir, problem, {}) as live:
        res = invoke("runs", "list", "--dir", str(runs_dir))
        assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if "vec_add" in line]
    assert len(lines) == 2
    finished = next(line for line in lines if run_dir.name in line)
    assert "finished" in finished and "1.33x" in finished and "0.07" in finished and " 5 " in finished
    assert "running" in next(line for line in lines if live.run_id in line)  # its writer holds the lock


def test_list_reports_unreadable_runs_without_failing(runs_dir, run_dir):
    broken = runs_dir / "20200101-000000-broken-0000"
    broken.mkdir()
    (broken / "run.sqlite").write_bytes(b"garbage" * 200)
    res = invoke("runs", "list", "--dir", str(runs_dir))
    assert res.exit_code == 0
    assert "unreadable" in res.output and run_dir.name in res.output


def test_list_of_a_missing_directory_is_a_one_line_error(tmp_path):
    res = invoke("runs", "list", "--dir", str(tmp_path / "nope"))
    assert res.exit_code == 2 and "no such directory" in res.output


def test_show_prints_beams_lineage_with_plans_and_spend(runs_dir, run_dir):
    res = invoke("runs", "show", run_dir.name[:12], "--dir", str(runs_dir))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "best #4: 7.50 µs, 1.33x (sim)" in out
    assert "2: #4 7.50 µs, #2 8.00 µs" in out
    lineage = out[out.index("lineage"):]
    assert lineage.index("#1") < lineage.index("#2") < lineage.index("#4")
    assert "split each row tile in two" in lineage and "knob: operand order" in lineage
    assert "LLM spend by phase" in out and "implement" in out and "anthropic:claude-test" in out


def test_run_is_found_by_path_id_prefix_or_unique_part(runs_dir, run_dir, problem):
    for ref in (str(run_dir), str(run_dir / "run.sqlite"), run_dir.name, run_dir.name[:10], run_dir.name[-4:]):
        assert invoke("runs", "show", ref, "--dir", str(runs_dir)).exit_code == 0, ref
    build_run(runs_dir, problem)
    res = invoke("runs", "show", "2", "--dir", str(runs_dir))
    assert res.exit_code == 2 and "matches 2 runs" in res.output
    res = invoke("runs", "show", "zzz", "--dir", str(runs_dir))
    assert res.exit_code == 2 and "no run 'zzz'" in res.output


def test_diff_prints_a_unified_diff_between_two_candidates(runs_dir, run_dir):
    res = invoke("runs", "diff", run_dir.name, "1", "#2", "--dir", str(runs_dir))
    assert res.exit_code == 0
    assert res.output.startswith(f"--- {run_dir.name}/candidates/0001/kernel.py\n+++ {run_dir.name}/candidates/0002")
    assert "+        for j in nl.affine_range(2):" in res.output
    assert "-        x = nl.load(a[i * 128:(i + 1) * 128, :])" in res.output
    for bad, message in (("42", "no candidate 42"), ("abc", "not a candidate id")):
        res = invoke("runs", "diff", run_dir.name, "1", bad, "--dir", str(runs_dir))
        assert res.exit_code == 2 and message in res.output


def test_export_best_or_a_chosen_candidate(runs_dir, run_dir, tmp_path):
    out = tmp_path / "best.py"
    res = invoke("runs", "export", str(run_dir), "--best", str(out))
    assert res.exit_code == 0, res.output
    with RunReader.open_readonly(run_dir) as run:
        assert out.read_text() == run.source(run.best().id) == VARIANT.replace("nl.add(x, y)", "nl.add(y, x)")
    res = invoke("runs", "export", str(run_dir), "--candidate", "2", str(out))
    assert res.exit_code == 0 and out.read_text() == VARIANT
    res = invoke("runs", "export", str(run_dir), "--best", "--candidate", "2", str(out))
    assert res.exit_code == 2 and "not both" in res.output


def test_export_without_a_correct_candidate_says_what_to_do(runs_dir, problem, tmp_path):
    with RunStore.create(runs_dir, problem, {}) as store:
        store.add_candidate("x = 1\n", origin="baseline", iteration=0)
    res = invoke("runs", "export", str(store.root), str(tmp_path / "o.py"))
    assert res.exit_code == 2 and "no correct candidate yet" in res.output and "--candidate" in res.output


def test_report_command_writes_one_html_file(runs_dir, run_dir, tmp_path):
    out = tmp_path / "r.html"
    res = invoke("report", run_dir.name, "-o", str(out), "--dir", str(runs_dir), "--no-reprofile")
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    res = invoke("report", "nope", "-o", str(out), "--dir", str(runs_dir))
    assert res.exit_code == 2 and "no run 'nope'" in res.output


def test_report_goes_into_the_run_directory_by_default(runs_dir, run_dir):
    res = invoke("report", run_dir.name, "--dir", str(runs_dir), "--no-reprofile")
    assert res.exit_code == 0, res.output
    assert (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert str(run_dir / "report.html") in "".join(res.output.split())  # the console may wrap the path
