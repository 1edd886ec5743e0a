"""Per-shape results in the run store, the HTML report and `runs show`
(docs/evaluation.md#problems-over-several-shapes)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.report import render_report
from autocomp.store import RunReader, RunStore
from autocomp.store.results import parse_result
from tests.fakes.store_fixtures import BASELINE, VARIANT, result, write_problem


def _shapes(latencies: dict[str, float], baseline: dict[str, float] | None = None) -> list[dict]:
    out = []
    for name, us in latencies.items():
        base = baseline[name] if baseline else None
        out.append({"name": name, "weight": 1.0, "params": {"s": int(name[3:])}, "status": "correct",
                    "latency_us": us, "baseline_latency_us": base, "speedup": base / us if base else None})
    return out


def _run(tmp_path):
    from autocomp.problem import Problem

    problem = Problem.load(write_problem(tmp_path / "vec_add"))
    store = RunStore.create(tmp_path / "runs", problem, {}, seed=0)
    base_us = {"ctx1024": 10.0, "ctx4096": 40.0}
    with store:
        base = store.add_candidate(problem.baseline_source, origin="baseline", iteration=0)
        store.record_evaluation(base, result(latency_us=20.0, shapes=_shapes(base_us)))
        best = store.add_candidate(VARIANT, origin="llm", iteration=1, parent_id=base, plan="wider tiles")
        store.record_evaluation(best, result(latency_us=16.0, baseline_latency_us=20.0, speedup=1.25,
                                             shapes=_shapes({"ctx1024": 12.5, "ctx4096": 20.0}, base_us),
                                             regressed_shapes=["ctx1024"], flags=["slower_at_a_shape"]))
        old = store.add_candidate(BASELINE.replace("nl.add(x, y)", "nl.add(y, x)"), origin="llm", iteration=1,
                                  parent_id=base, plan="an evaluation recorded before shapes existed")
        store.record_evaluation(old, result(latency_us=21.0))
        store.record_beam(0, [base])
        store.record_beam(1, [best, base])
        store.set_status("finished")
    return store.root, best, old


def test_per_shape_results_round_trip_and_old_results_still_load(tmp_path):
    root, best, old = _run(tmp_path)
    with RunReader.open_readonly(root) as r:
        typed = parse_result(r.evaluation(best).result)
        assert [(s.name, s.latency_us, s.speedup) for s in typed.shapes] == [("ctx1024", 12.5, 0.8),
                                                                            ("ctx4096", 20.0, 2.0)]
        assert typed.regressed_shapes == ["ctx1024"]
        legacy = parse_result(r.evaluation(old).result)
        assert legacy.shapes == [] and legacy.regressed_shapes == []


def test_report_has_a_per_shape_table_and_marks_the_slower_shape(tmp_path):
    root, best, _ = _run(tmp_path)
    html = render_report(root, reprofile=False)
    table = html.split('<table id="shapes">', 1)[1].split("</table>", 1)[0]
    assert "ctx1024" in table and "ctx4096" in table and "s=4096" in table
    assert "slower than the baseline" in table.split("ctx4096")[0]  # on the ctx1024 row only
    assert "slower than the baseline" not in table.split("ctx4096")[1].split("weighted geomean")[0]
    assert "weighted geomean" in table
    assert f'data-id="{best}"' in html and "slower at ctx1024" in html


def test_report_of_a_single_shape_problem_has_no_shape_section(tmp_path):
    from autocomp.problem import Problem
    from tests.fakes.store_fixtures import build_run

    root = build_run(tmp_path / "runs", Problem.load(write_problem(tmp_path / "vec_add")))
    html = render_report(root, reprofile=False)
    assert 'id="shapes"' not in html


def test_runs_show_gives_per_shape_latency_and_speedup(tmp_path):
    root, best, _ = _run(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(app, ["runs", "show", str(root), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["best"]["id"] == best
    assert [(s["name"], s["latency_us"], s["baseline_latency_us"]) for s in data["best"]["shapes"]] == [
        ("ctx1024", 12.5, 10.0), ("ctx4096", 20.0, 40.0)]
    assert data["best"]["regressed_shapes"] == ["ctx1024"]
    assert [s["name"] for s in data["baseline"]["shapes"]] == ["ctx1024", "ctx4096"]
    text = runner.invoke(app, ["runs", "show", str(root)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    lines = {line.split()[0]: line for line in text.output.splitlines() if line.strip().startswith("ctx")}
    assert "SLOWER than the baseline" in lines["ctx1024"] and "SLOWER" not in lines["ctx4096"]
    assert "s=4096" in lines["ctx4096"]


def test_explorer_has_a_per_shape_table(tmp_path):
    from autocomp.explore import open_run

    root, best, old = _run(tmp_path)
    rows = open_run(root).shapes
    mine = rows[rows["candidate"] == best].set_index("shape")
    assert mine.loc["ctx1024", "latency_us"] == 12.5 and bool(mine.loc["ctx1024", "slower_than_baseline"])
    assert mine.loc["ctx4096", "speedup"] == 2.0 and not bool(mine.loc["ctx4096", "slower_than_baseline"])
    assert old not in set(rows["candidate"])  # recorded before shapes existed: no rows, no error
