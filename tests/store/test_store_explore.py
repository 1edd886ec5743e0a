"""The notebook explorer: open_run, DataFrames, candidates, diff, profile, reevaluate, HTML reprs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import autocomp
from autocomp.explore import CandidateView, Run
from autocomp.store import RunLockedError, RunReader, RunStore
from autocomp.store.profiles import profile_record
from tests.fakes.store_fixtures import VARIANT, profile_of, result


@pytest.fixture
def run(run_dir):
    with autocomp.open_run(run_dir) as r:
        yield r


def test_import_autocomp_stays_cheap_and_open_run_is_lazy():
    code = ("import sys, autocomp; heavy = [m for m in ('autocomp.explore', 'autocomp.store', 'pandas', "
            "'numpy', 'sqlite3') if m in sys.modules]; print(heavy); autocomp.open_run; "
            "print('autocomp.explore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        autocomp.nope  # noqa: B018


def test_open_run_by_id_or_prefix_in_a_runs_dir(runs_dir, run_dir):
    with autocomp.open_run(run_dir.name[:15], runs_dir=runs_dir) as r:
        assert isinstance(r, Run) and r.id == run_dir.name and r.status == "finished"


def test_candidates_is_a_dataframe_indexed_by_id(run):
    df = run.candidates
    assert isinstance(df, pd.DataFrame) and list(df.index) == [1, 2, 3, 4, 5]
    assert {"parent_id", "iteration", "origin", "plan", "status", "latency_us", "speedup", "evidence"} <= set(df)
    assert str(df["parent_id"].dtype) == "Int64" and df.loc[4, "parent_id"] == 2
    assert df["speedup"].max() == pytest.approx(10 / 7.5)
    assert df[df.status == "correct"].latency_us.idxmin() == 4
    assert len(run.evaluations) == 5 and len(run.llm_calls) == 4
    assert run.spend("model").loc["openai:gpt-test", "cost_usd"] == pytest.approx(0.05)


def test_best_lineage_and_candidate_views(run):
    best = run.best
    assert isinstance(best, CandidateView) and best.id == 4 and best.origin == "knob"
    assert [c.id for c in run.lineage(best)] == [1, 2, 4]
    assert run.baseline.id == 1 and run[2].plan == "split each row tile in two" and run["#2"].id == 2
    assert "nl.add(y, x)" in best.source and best.evaluation["latency_us"] == 7.5
    html = best._repr_html_()
    assert "candidate #4" in html and "knob: operand order" in html and "nl.add(y, x)" in html
    assert repr(best) == "<Candidate #4 it=2 knob correct 7.50 µs, 1.33x>"


def test_diff_is_unified_as_text_and_side_by_side_as_html(run):
    d = run.diff(1, run[2])
    assert str(d).startswith("--- #1\n+++ #2") and "+        for j in nl.affine_range(2):" in str(d)
    html = d._repr_html_()
    assert '<table class="diff"' in html and "diff_add" in html


def test_profile_uses_the_stored_record(runs_dir, problem):
    record = {"latency_us": 5.0, "makespan_ns": 4000.0, "target": "trn2", "roofline": {"bound_by": "hbm"},
              "engines": {"dve": {"active_ns": 1000.0, "utilisation": 20.0, "instruction_count": 2}},
              "timeline": {"dve": [[0.0, 1000.0, 2, ""]]}, "hints": ["load bigger tiles"]}
    with RunStore.create(runs_dir, problem, {}) as store:
        cid = store.add_candidate(VARIANT, origin="baseline", iteration=0)
        store.record_evaluation(cid, result(latency_us=5.0), profile=record)
        bare = store.add_candidate(VARIANT.replace("range(2)", "range(1)"), origin="llm", iteration=1)
        root = store.root
    with autocomp.open_run(root) as r:
        assert r.profile(bare, reprofile=False).record == {}
        assert "no stored profile" in repr(r.profile(bare, reprofile=False))
        prof = r.profile(cid, reprofile=False)
        assert prof.latency_us == 5.0 and prof.engines.loc["dve", "utilisation"] == 20.0
        html = prof._repr_html_()
        assert 'class="gantt"' in html and "load bigger tiles" in html and "<svg" in html
        assert r.profile(cid, reprofile=False).record == record


def test_the_profile_page_the_report_and_the_notebook_draw_one_chart(problem):
    import json
    import re

    from autocomp.explore import StoredProfile

    prof = profile_of(problem)
    record = json.loads(json.dumps(profile_record(prof)))  # as profile.json holds it

    def tips(html: str) -> list[str]:
        return re.findall(r'<rect class="slot"[^>]*><title>([^<]*)</title>', html)

    assert tips(prof.timeline_html()) == tips(StoredProfile(1, record).timeline_svg()) != []
    assert "TENSOR_TENSOR nl.add line 11" in " ".join(tips(prof.timeline_html()))  # and its source line


def test_a_profile_without_timeline_is_reprofiled_through_the_evaluator_and_kept(run, run_dir, problem):
    with RunStore.open(run_dir) as store:  # what the search stores: the EvalResult's summary, no timeline
        store.record_profile(2, {"format": 1, "origin": "evaluation", "latency_us": 8.0, "timeline": {}})
    assert run.profile(2, reprofile=False).record["origin"] == "evaluation"
    prof = run.profile(2)
    assert prof.record["origin"] == "reprofile" and prof.latency_us > 0
    assert prof.record["timeline"]["dma"] and "re-profiled" in prof.note
    assert run.profile(2, reprofile=False).record["timeline"]["dma"]  # saved to profile.json
    # What the sandboxed evaluator's measuring half drew is what the cost model draws for the kernel.
    direct = profile_record(profile_of(problem, VARIANT))
    assert prof.record["timeline"] == direct["timeline"]
    assert prof.latency_us == pytest.approx(direct["latency_us"])


def test_reevaluate_records_beside_the_search_result(run, run_dir):
    seen = []

    def fake_evaluator(problem_dir, source, target):
        seen.append((problem_dir.name, target))
        return {**result(latency_us=6.0), "target": target}

    ev = run.reevaluate(run.best, target="trn1", evaluator=fake_evaluator)
    assert seen == [("problem", "trn1")] and ev.purpose == "reevaluate:sim:trn1" and ev.latency_us == 6.0
    assert run.best.latency_us == 7.5  # the search result is unchanged
    run.reevaluate(4, target="trn1", evaluator=fake_evaluator)  # again: replaces, never duplicates
    with RunReader.open_readonly(run_dir) as reader:
        assert len(reader.evaluations(purpose="reevaluate:sim:trn1")) == 1


def test_reevaluate_with_autocomps_sandboxed_evaluator(run, run_dir):
    ev = run.reevaluate(run.best, target="trn2")
    assert ev.purpose == "reevaluate:sim:trn2" and ev.status == "correct", ev.reason
    assert ev.evidence == "sim" and ev.target == "trn2" and ev.latency_us > 0
    assert ev.result["timeline"] == {}  # timelines only when asked for (they make results large)
    assert run.best.latency_us == 7.5


def test_reevaluate_while_a_search_holds_the_run_says_so(run, run_dir):
    with RunStore.open(run_dir), pytest.raises(RunLockedError):
        run.reevaluate(4, evaluator=lambda *a: result())


def test_run_html_repr_has_summary_and_progress_chart(run):
    html = run._repr_html_()
    assert "vec_add" in html and 'class="chart progress"' in html
    assert repr(run).endswith("finished, best #4 1.33x>")
