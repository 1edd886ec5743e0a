"""RunStore writes and queries: candidates, evaluations, speedups, best, lineage, LLM calls, locking."""

from __future__ import annotations

import json
import threading

import pytest

from autocomp.llm import LLMService
from autocomp.llm.types import Completion
from autocomp.store import (
    DuplicateEvaluationError,
    RunLockedError,
    RunNotFoundError,
    RunReader,
    RunStore,
    effective_status,
    source_hash,
)
from tests.fakes.store_fixtures import BASELINE, VARIANT, call_record, result


@pytest.fixture
def store(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {"search": {"beam": 2}}, seed=7) as s:
        yield s


def test_run_row_records_problem_seed_and_snapshot(store, problem):
    info = store.info
    assert (info.problem, info.problem_hash, info.seed, info.target, info.status) == (
        "vec_add", problem.content_hash, 7, "trn2", "running")
    snap = store.problem_dir()
    assert (snap / "kernel.py").read_text() == BASELINE
    assert {p.name for p in snap.iterdir()} == {"problem.toml", "kernel.py", "reference.py"}


def test_candidate_files_mirror_the_database(store):
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0, prompt=[
        {"role": "system", "content": "you optimize NKI"}, {"role": "user", "content": "go"}], response="ok")
    d = store.candidate_dir(cid)
    assert d.name == "0001"
    assert (d / "kernel.py").read_text() == BASELINE == store.source(cid)
    assert "## system\n\nyou optimize NKI" in (d / "prompt.md").read_text()
    assert (d / "response.md").read_text() == "ok"
    ev = store.record_evaluation(cid, result(latency_us=12.5, profile={"roofline_time": 4e-6}))
    assert json.loads((d / "eval.json").read_text()) == ev.result
    assert ev.result["profile"] == {"roofline_time": 4e-6}


def test_speedup_and_best_follow_the_baseline_even_when_it_is_evaluated_last(store):
    base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    fast = store.add_candidate(VARIANT, origin="llm", iteration=1, parent_id=base)
    wrong = store.add_candidate(BASELINE.replace("add", "multiply"), origin="llm", iteration=1, parent_id=base)
    store.record_evaluation(fast, result(latency_us=5.0))
    store.record_evaluation(wrong, result("incorrect"))
    assert store.candidate(fast).speedup is None  # no baseline latency yet
    store.record_evaluation(base, result(latency_us=10.0))
    assert store.candidate(fast).speedup == pytest.approx(2.0)
    assert store.candidate(base).speedup == pytest.approx(1.0)
    assert store.candidate(wrong).speedup is None and store.candidate(wrong).status == "incorrect"
    assert store.best().id == fast
    assert store.info.baseline_latency_us == 10.0
    assert [c.id for c in store.lineage(fast)] == [base, fast]


def test_an_incorrect_kernel_is_never_best_however_fast(store):
    base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(base, result(latency_us=10.0))
    cheat = store.add_candidate(VARIANT, origin="llm", iteration=1, parent_id=base)
    store.record_evaluation(cheat, {"status": "rejected", "latency_us": 0.01, "reason": "faster than roofline"})
    assert store.best().id == base


def test_evaluations_are_recorded_once_per_purpose(store):
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(cid, result(latency_us=10.0))
    store.record_profile(cid, {"latency_us": 10.0})
    with pytest.raises(DuplicateEvaluationError, match="already has a 'search' evaluation"):
        store.record_evaluation(cid, result(latency_us=9.0), profile={"latency_us": 9.0})
    assert store.profile(cid) == {"latency_us": 10.0}  # the refused result left no trace
    store.record_evaluation(cid, {**result(latency_us=11.0), "evidence": "hw"}, purpose="hw")
    store.record_evaluation(cid, {**result(latency_us=10.5), "evidence": "hw"}, purpose="hw", replace=True)
    assert store.candidate(cid).latency_us == 10.0  # only the search evaluation drives the candidate
    assert store.evaluation(cid, "hw").latency_us == 10.5
    assert (store.candidate_dir(cid) / "eval-hw.json").is_file()
    assert len(store.evaluations()) == 2


def test_evaluation_without_status_or_for_unknown_candidate_is_refused(store):
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    with pytest.raises(ValueError, match="no status"):
        store.record_evaluation(cid, {"latency_us": 1.0})
    with pytest.raises(RunNotFoundError, match="no candidate 99"):
        store.record_evaluation(99, result())


def test_the_evaluators_eval_result_is_stored_whole(store):
    from autocomp.evaluate import result as evaluate

    res = evaluate.EvalResult(status="correct", reason="ok", latency_us=4.0, evidence="sim", target="trn2",
                              profile={"roofline_time": 1e-6})
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    ev = store.record_evaluation(cid, res)
    assert evaluate.EvalResult.model_validate(ev.result) == res
    assert (ev.status, ev.latency_us, ev.evidence, ev.target) == ("correct", 4.0, "sim", "trn2")


def test_records_accept_an_eval_result_model(store):
    from pydantic import BaseModel

    class FakeEvalResult(BaseModel):
        status: str
        latency_us: float
        evidence: str = "sim"
        reason: str = ""
        errors: list[dict] = []

    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    ev = store.record_evaluation(cid, FakeEvalResult(status="correct", latency_us=3.0, errors=[{"seed": 0}]))
    assert ev.result["errors"] == [{"seed": 0}] and ev.evidence == "sim"


def test_normalized_source_hash_ignores_comments_and_layout(store):
    base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(base, result())
    reformatted = BASELINE.replace("def add_kernel(a, b):", "def add_kernel(a,   b):  # same kernel")
    assert source_hash(reformatted) == source_hash(BASELINE)
    assert store.find_source(reformatted).id == base
    assert source_hash(reformatted) in store.finished_sources()
    assert store.find_source(VARIANT) is None


def test_llm_calls_and_spend_by_phase_and_model(store):
    store.record_llm_call(call_record("plan", cost=0.02))
    store.record_llm_call(call_record("plan", cache_hit=True))
    store.record_llm_call(call_record("implement", model="gpt-test", provider="openai", cost=0.05))
    store.record_llm_call(call_record("implement", error="500 from https://x?key=sk-abcdefghijklmnop"))
    by_phase = {s.key: s for s in store.spend("phase")}
    assert by_phase["plan"].calls == 1 and by_phase["plan"].cache_hits == 1
    assert by_phase["plan"].cost_usd == pytest.approx(0.02)
    assert by_phase["implement"].failures == 1 and by_phase["implement"].calls == 1
    by_model = {s.key: s for s in store.spend("model")}
    assert by_model["openai:gpt-test"].cost_usd == pytest.approx(0.05)
    total = store.spend()[0]
    assert (total.calls, total.cost_usd, total.input_tokens) == (2, pytest.approx(0.07), 2000)
    calls = store.llm_calls()
    assert "sk-abcdefghijklmnop" not in calls[-1].error
    messages, text = store.llm_exchange(calls[0].id)
    assert messages == [{"role": "user", "content": "please plan"}] and text == "answer for plan"
    with pytest.raises(ValueError, match="use None, 'phase' or 'model'"):
        store.spend("day")


class _FakeClient:
    provider = "openai"

    def complete(self, messages, *, model, temperature, max_tokens, stop):
        return Completion(text="```python\npass\n```", finish_reason="stop", input_tokens=100, output_tokens=20,
                          provider="openai", model=model)


def test_llm_service_on_call_records_every_call_from_worker_threads(store):
    service = LLMService("openai:gpt-4o-mini", {"openai": _FakeClient()}, on_call=store.record_llm_call)
    threads = [threading.Thread(target=lambda i=i: service.complete([{"role": "user", "content": f"q{i}"}],
                                                                    phase="implement")) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = store.spend()[0]
    assert total.calls == 16 and total.input_tokens == 1600
    assert total.cost_usd == pytest.approx(service.usage().total.cost_usd)


def test_a_second_writer_is_refused_while_readers_are_welcome(store):
    with pytest.raises(RunLockedError, match="open for writing by pid"):
        RunStore.open(store.root)
    with RunReader.open_readonly(store.root) as reader:
        assert effective_status(reader) == "running"


def test_a_running_run_whose_writer_is_gone_shows_as_interrupted(runs_dir, problem):
    store = RunStore.create(runs_dir, problem, {})
    store.close()  # no set_status: like a process that was killed
    with RunReader.open_readonly(store.root) as reader:
        assert reader.info.status == "running"
        assert effective_status(reader) == "interrupted"


def test_status_changes_are_validated_and_logged(store):
    store.set_status("failed", reason="budget exhausted")
    assert (store.info.status, store.info.status_reason) == ("failed", "budget exhausted")
    assert store.events()[-1] == {"t": pytest.approx(store.info.updated, abs=5), "kind": "status",
                                  "status": "failed", "reason": "budget exhausted"}
    with pytest.raises(ValueError, match="use one of running, finished"):
        store.set_status("paused")


def test_one_profile_record_from_a_profile_or_from_the_evaluation_that_carries_its_summary(store, problem):
    from autocomp.store.profiles import profile_record, result_record
    from tests.fakes.store_fixtures import profile_of

    prof = profile_of(problem)
    (summary,) = prof.summary().values()
    evaluation = {"status": "correct", "latency_us": prof.latency_us, "target": prof.target, "evidence": "sim",
                  "profile": json.loads(json.dumps(summary)), "hints": ["dma: bigger tiles"]}
    direct, carried = profile_record(prof), result_record(evaluation, kernel=prof.kernel)
    assert direct["timeline"] and carried["timeline"] == {}  # the search stores no timeline unless asked
    for key in ("latency_us", "makespan_ns", "mfu", "mbu"):
        assert carried[key] == pytest.approx(direct[key]), key
    assert carried["makespan_ns"] < carried["latency_us"] * 1e3  # the schedule, without the launch overhead
    assert carried["roofline"] == pytest.approx(direct["roofline"])
    for engine, figures in direct["engines"].items():
        assert carried["engines"][engine] == pytest.approx(figures), engine
    assert carried["summary"] == direct["summary"] and carried["kernel"] == direct["kernel"] == "add_kernel"
    assert result_record({**evaluation, "status": "incorrect"}) is None and result_record({"status": "correct"}) is None
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(cid, result(latency_us=prof.latency_us), profile=prof)  # the Profile itself
    assert store.profile(cid)["engines"]["dma"] == pytest.approx(direct["engines"]["dma"])
    with pytest.raises(TypeError, match="expected an autocomp.perf.Profile or a profile record dict"):
        store.record_profile(cid, "profile.json")
