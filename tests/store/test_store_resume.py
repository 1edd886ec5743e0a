"""The resume view after interruptions, including kill -9 of a process writing evaluations."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

from autocomp.store import RunReader, RunStore, schema
from autocomp.store import run_store as run_store_module
from tests.fakes.store_fixtures import BASELINE, VARIANT, build_run, result

# A search loop in miniature: proposes a kernel, evaluates it, commits, says which id it committed.
WRITER = textwrap.dedent("""
    import sys
    from autocomp.store import RunStore

    store, state = RunStore.resume(sys.argv[1])
    for cand in state.pending:  # finish what the killed process had started
        store.record_evaluation(cand.id, {"status": "correct", "latency_us": 100.0 - cand.id, "evidence": "sim"})
        print(cand.id, flush=True)
    seen = set(state.evaluated)
    i = len(state.candidates)
    while True:
        i += 1
        source = f"def add_kernel(a, b):\\n    return {i}\\n"
        cid = store.add_candidate(source, origin="llm", iteration=1 + i // 10, parent_id=1, plan=f"variant {i}")
        store.record_evaluation(cid, {"status": "correct", "latency_us": 100.0 - i, "evidence": "sim"})
        print(cid, flush=True)
        if i % 10 == 0:
            store.record_beam(i // 10, [cid])
""")


def _run_and_kill(script, run_dir, at_least: int) -> list[int]:
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    committed: list[int] = []
    deadline = time.monotonic() + 120
    try:
        while len(committed) < at_least and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed.append(int(line))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert len(committed) >= at_least, stderr
    return committed


def _check_invariants(run_dir, committed: list[int]) -> None:
    with sqlite3.connect(run_dir / "run.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_candidate = Counter(r[0] for r in conn.execute("SELECT candidate_id FROM evaluations"))
    assert all(n == 1 for n in per_candidate.values()), "an evaluation was recorded twice"
    missing = set(committed) - set(per_candidate)
    assert not missing, f"committed evaluations lost: {sorted(missing)}"


def test_kill_9_while_writing_loses_no_committed_evaluation_and_duplicates_none(runs_dir, problem, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with RunStore.create(runs_dir, problem, {}) as store:
        base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
        store.record_evaluation(base, result(latency_us=100.0))
        run_dir = store.root
    committed = [base]
    for round_ in range(3):  # kill, resume, kill again: resuming a resumed run must work too
        committed += _run_and_kill(script, run_dir, at_least=15 + 10 * round_)
        _check_invariants(run_dir, committed)
        with RunReader.open_readonly(run_dir) as run:
            state = run.resume_state()
            assert len(state.pending) <= 1  # at most the one being evaluated when the signal came
            assert len(state.evaluated) == len(run.evaluations())
    store, state = RunStore.resume(run_dir)
    with store:
        for cand in state.pending:
            store.record_evaluation(cand.id, result(latency_us=50.0))
        assert not store.resume_state().pending
        assert store.counts()["evaluations"] == store.counts()["candidates"]
        assert [e["kind"] for e in store.events()].count("run_resumed") == 4
        assert all((store.candidate_dir(c.id) / "kernel.py").is_file() for c in store.candidates())


def test_resume_state_of_a_run_interrupted_mid_iteration(runs_dir, problem):
    run_dir = build_run(runs_dir, problem, finish=False)
    with RunStore.open(run_dir) as store:
        # iteration 3 had started: one candidate evaluated, one proposed but never evaluated
        done = store.add_candidate(VARIANT.replace("range(2)", "range(4)"), origin="llm", iteration=3, parent_id=4)
        store.record_evaluation(done, result(latency_us=7.0))
        pending = store.add_candidate(VARIANT.replace("range(2)", "range(8)"), origin="llm", iteration=3, parent_id=4)
    store, state = RunStore.resume(run_dir)
    with store:
        assert state.last_iteration == 2 and state.next_iteration == 3
        assert state.beam == [4, 2]
        assert [c.id for c in state.pending] == [pending]
        assert [c.id for c in state.partial] == [done, pending]
        assert state.best.id == done
        assert state.llm_calls == 4 and state.llm_cost_usd == pytest.approx(0.07)
        assert state.config["search"]["beam"] == 2
        assert len(state.evaluated) == 6 and all(e.purpose == "search" for e in state.evaluated.values())
        assert state.run.status == "running"


def test_resume_before_any_iteration_starts_from_the_baseline(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
        store.record_evaluation(base, result())
        root = store.root
    with RunReader.open_readonly(root) as run:
        state = run.resume_state()
    assert (state.last_iteration, state.beam, state.pending, state.partial) == (-1, [base], [], [])


def test_crash_inside_add_candidate_rolls_back_and_the_id_is_reused(runs_dir, problem, monkeypatch):
    with RunStore.create(runs_dir, problem, {}) as store:
        store.add_candidate(BASELINE, origin="baseline", iteration=0)
        real = run_store_module.atomic_write_text

        def crash_on_response(path, text):
            if path.name == "response.md":
                raise OSError("disk full")
            real(path, text)

        monkeypatch.setattr(run_store_module, "atomic_write_text", crash_on_response)
        with pytest.raises(OSError, match="disk full"):
            store.add_candidate(VARIANT, origin="llm", iteration=1, response="text")
        monkeypatch.undo()
        assert [c.id for c in store.candidates()] == [1]
        cid = store.add_candidate(BASELINE.replace("add", "subtract"), origin="llm", iteration=1)
        assert cid == 2 and store.source(2) == (store.candidate_dir(2) / "kernel.py").read_text()


def test_mirror_files_lost_in_a_crash_are_rewritten_from_the_database(run_dir):
    (run_dir / "candidates" / "0002" / "eval.json").unlink()
    (run_dir / "candidates" / "0003" / "kernel.py").unlink()
    RunStore.open(run_dir).close()
    with RunReader.open_readonly(run_dir) as run:
        assert (run.candidate_dir(2) / "eval.json").is_file()
        assert (run.candidate_dir(3) / "kernel.py").read_text() == run.source(3)


def test_decisions_are_kept_as_first_recorded_and_name_the_candidates_they_made(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
        first = store.record_decisions(1, [("1:plans", "plans", {"plans": ["a", "b"]}, base),
                                           ("1:a", "implement", {"source": VARIANT}, base)])
        assert [d.key for d in first] == ["1:plans", "1:a"] and first[0].parent_id == base
        # Deciding again (a resumed run) changes nothing and hands back what was recorded.
        again = store.record_decisions(1, [("1:plans", "plans", {"plans": ["c"]}, None)])
        assert again[0].data == {"plans": ["a", "b"]} and again[0].id == first[0].id
        made = store.add_candidate(VARIANT, origin="llm", iteration=1, parent_id=base, meta={"slot": "1:a"})
        store.record_decisions(1, [("1:b", "implement", {"source": VARIANT}, base)])
        store.link_decision("1:b", made)  # the same kernel again: it resolved to the first one
        root = store.root
    with RunReader.open_readonly(root) as reader:
        decisions = reader.decisions()
        assert [(d.key, d.candidate_id) for d in decisions] == [("1:plans", None), ("1:a", made), ("1:b", made)]
        assert [d.key for d in reader.decisions(iteration=1)] == ["1:plans", "1:a", "1:b"]
        assert reader.decisions(iteration=2) == []


def test_a_run_from_before_decisions_stays_readable_and_is_upgraded_when_resumed(runs_dir, problem, monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])  # what an older autocomp wrote
    with RunStore.create(runs_dir, problem, {}) as store:
        base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
        store.record_evaluation(base, result())
        root = store.root
    monkeypatch.undo()
    with sqlite3.connect(root / "run.sqlite") as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 1
    with RunReader.open_readonly(root) as reader:  # read as it is: listing and reports need no upgrade
        assert reader.decisions() == [] and reader.counts()["evaluations"] == 1
    store, state = RunStore.resume(root)
    with store:
        assert store.info.schema_version == schema.schema_version() and state.last_iteration == -1
        store.record_decisions(1, [("iteration:1:0", "iteration", {"stage": "knobs", "beam": [base]}, None)])
    with RunReader.open_readonly(root) as reader:
        assert [d.data["beam"] for d in reader.decisions()] == [[base]]

