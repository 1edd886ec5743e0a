"""Deduplication, slots and crash-safe evaluation (autocomp.search.session)."""

from __future__ import annotations

import threading

from autocomp.search.outcome import Outcome, eval_result
from autocomp.search.session import Session
from autocomp.store import RunStore
from tests.fakes.search import FakeEvaluator, kernel_with


def _session(tmp_path, problem, evaluator, store=None):
    store = store or RunStore.create(tmp_path / "runs", problem, {"x": 1})
    events: list[tuple[str, dict]] = []
    return Session(problem, store, evaluator, workers=2, on_event=lambda k, d: events.append((k, d))), events


def test_duplicates_are_never_stored_or_evaluated_twice(tmp_path, problem, evaluator):
    session, events = _session(tmp_path, problem, evaluator)
    first = session.submit(kernel_with(128), origin="llm", iteration=1).result()
    # Same kernel with different comments and layout: same normalized source.
    noisy = kernel_with(128).replace("# columns per tile", "# wider").replace("    N, D = x.shape", "    N,D=x.shape")
    again = session.submit(noisy, origin="llm", iteration=2).result()
    assert not first.duplicate and again.duplicate and again.node.id == first.node.id
    assert len(evaluator.calls) == 1 and len(session.store.candidates()) == 1
    assert session.duplicates == 1 and any(k == "duplicate" for k, _ in events)
    assert any(e["kind"] == "duplicate" for e in session.store.events())
    session.close()


def test_concurrent_submissions_of_one_kernel_evaluate_once(tmp_path, problem):
    gate = threading.Event()

    class Slow(FakeEvaluator):
        def evaluate(self, problem, source, *, seeds=None):
            gate.wait(5)
            return super().evaluate(problem, source, seeds=seeds)

    ev = Slow()
    session, _ = _session(tmp_path, problem, ev)
    futures = [session.submit(kernel_with(256), origin="llm", iteration=1) for _ in range(3)]
    gate.set()
    nodes = {f.result().node.id for f in futures}
    assert nodes == {futures[0].result().node.id} and len(ev.calls) == 1
    assert [f.result().duplicate for f in futures] == [False, True, True]
    session.close()


def test_a_slot_that_has_a_candidate_is_reused_after_a_restart(tmp_path, problem, evaluator):
    session, _ = _session(tmp_path, problem, evaluator)
    node = session.submit(kernel_with(128), origin="llm", iteration=1, slot="1:abc:p0:i0").result().node
    session.close()
    # A new process over the same store: the slot resolves without an LLM answer or an evaluation.
    session2, _ = _session(tmp_path, problem, evaluator, store=session.store)
    session2.load_existing()
    again = session2.submit(kernel_with(512), origin="llm", iteration=1, slot="1:abc:p0:i0").result()
    assert again.node.id == node.id and again.node.correct
    assert len(evaluator.calls) == 1 and session2.reused == 1
    session2.close()


def test_candidates_stored_but_not_evaluated_are_evaluated_once_on_resume(tmp_path, problem, evaluator):
    store = RunStore.create(tmp_path / "runs", problem, {})
    orphan = store.add_candidate(kernel_with(256), origin="llm", iteration=1)  # crashed before evaluating
    session, _ = _session(tmp_path, problem, evaluator, store=store)
    session.load_existing()
    assert [f.result().node.id for f in session.evaluate_pending()] == [orphan]
    assert session.evaluate_pending() == [] and len(evaluator.calls) == 1
    assert store.evaluation(orphan).status == "correct"
    session.close()


def test_an_evaluator_crash_is_not_committed_as_a_verdict(tmp_path, problem):
    class Broken(FakeEvaluator):
        def evaluate(self, problem, source, *, seeds=None):
            raise RuntimeError("sandbox unavailable")

    session, events = _session(tmp_path, problem, Broken())
    node = session.submit(kernel_with(128), origin="llm", iteration=1).result().node
    assert node.outcome.status == "runtime_error" and "sandbox unavailable" in node.outcome.reason
    assert session.store.evaluation(node.id) is None  # a resumed run will try again
    assert any(k == "evaluator_error" for k, _ in events)
    session.close()


def test_profile_json_is_written_for_correct_candidates(tmp_path, problem, evaluator):
    session, _ = _session(tmp_path, problem, evaluator)
    node = session.submit(kernel_with(128), origin="llm", iteration=1).result().node
    prof = session.store.profile(node.id)
    assert prof["roofline"]["percent"] == 40.0 and prof["hints"] and prof["evidence"] == "sim"
    session.close()


def test_a_run_whose_stored_hashes_meant_something_else_still_dedups_and_keeps_its_names(tmp_path, problem,
                                                                                       evaluator):
    import sqlite3

    from autocomp.sources import source_hash

    session, _ = _session(tmp_path, problem, evaluator)
    node = session.submit(kernel_with(128), origin="llm", iteration=1, slot="1:abc:p0:i0").result().node
    session.close()
    root = session.store.root
    session.store.close()
    old_name = "0123456789abcdef"  # what an older autocomp (another normalisation) stored for it
    with sqlite3.connect(root / "run.sqlite") as db:
        db.execute("UPDATE candidates SET source_hash = ? WHERE id = ?", (old_name, node.id))
    store = RunStore.open(root)
    assert store.find_source(kernel_with(128)).id == node.id
    assert {old_name, source_hash(kernel_with(128))} <= set(store.finished_sources())
    session2, _ = _session(tmp_path, problem, evaluator, store=store)
    session2.load_existing()
    assert session2.node(node.id).source_hash == old_name  # the name slots and lineage groups were built from
    again = session2.submit(kernel_with(128).replace("# columns per tile", "# wide"), origin="llm",
                            iteration=2).result()
    assert again.duplicate and again.node.id == node.id
    assert len(evaluator.calls) == 1 and len(store.candidates()) == 1
    session2.close()
    store.close()


def test_a_resumed_session_reads_old_format_records_as_the_evaluator_would_have_given_them(tmp_path, problem):
    """Evaluations stored by an earlier version (whole neuron-profile summary, "spread", hint objects, no
    warnings field) reach the search as EvalResults: the outcome a fresh evaluation of the same result gives."""
    store = RunStore.create(tmp_path / "runs", problem, {})
    fast = store.add_candidate(kernel_with(128), origin="baseline", iteration=0)
    wrong = store.add_candidate(kernel_with(256, scale="3.0"), origin="llm", iteration=1, parent_id=fast)
    summary = {"total_time": 8e-6, "dma_active_time_percent": 0.9, "roofline_percent": 0.4, "roofline_bound": "hbm"}
    store.record_evaluation(fast, {"status": "correct", "reason": "ok", "latency_us": 8.0, "evidence": "sim",
                                   "summary": {"prof-7": summary}, "spread": 0.02,
                                   "hints": [{"message": "dma-bound"}]})
    error = {"seed": 0, "output": 0, "passed": False, "max_abs": 1.5, "worst_index": [3, 7], "worst_value": 2.5,
             "worst_expected": 1.0, "mismatched": 100, "size": 1000}
    store.record_evaluation(wrong, {"status": "incorrect", "reason": "wrong on seed 0", "max_abs": 1.5,
                                    "rel_l2": 0.4, "errors": [error]})
    session, _ = _session(tmp_path, problem, FakeEvaluator(), store=store)
    session.load_existing()
    got = session.node(fast).outcome
    assert got == Outcome.from_result(eval_result({"status": "correct", "reason": "ok", "latency_us": 8.0,
                                                   "profile": summary, "timing_spread": 0.02,
                                                   "hints": ["dma-bound"]}))
    assert (got.latency_us, got.roofline_percent, got.spread, got.hints) == (8.0, 40.0, 0.02, ("dma-bound",))
    assert "- DMA busy: 90.0%" in got.profile_text()
    report = session.node(wrong).outcome.error_report
    assert "100 of 1000 elements out of tolerance" in report and "worst at index [3, 7]: got 2.5" in report
    session.close()


def test_an_evaluator_answering_no_eval_result_is_an_evaluator_error(tmp_path, problem):
    class Garbled(FakeEvaluator):
        def evaluate(self, problem, source, *, seeds=None):
            return {"status": "fine", "latency_us": 3.0}

    session, events = _session(tmp_path, problem, Garbled())
    node = session.submit(kernel_with(128), origin="llm", iteration=1).result().node
    assert node.outcome.status == "runtime_error" and "ValidationError" in node.outcome.reason
    assert session.store.evaluation(node.id) is None and any(k == "evaluator_error" for k, _ in events)
    session.close()
