"""The same seed and the same LLM answers give the same search, however calls and evaluations interleave,
and an interrupted run resumes into exactly the run it would have been (in process; the SIGKILL version is
test_search_crash.py)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

import autocomp
from autocomp.llm import Budget, LLMService
from autocomp.search import loop as loop_module
from autocomp.store import RunReader
from tests.fakes.search import (
    KERNEL,
    FakeEvaluator,
    ScriptedClient,
    grid_latency,
    grid_problem,
    hashed_answer,
    scripted_answer,
    write_problem,
)
from tests.fakes.search_traces import differences, run_trace

LLM_OPTIONS = dict(beam=3, plans=3, impls=2, repairs=2, iterations=3, early_stop=3, seed=2, polish_iterations=2,
                   polish_beam=1, knob_batch=3)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


class PacedClient(ScriptedClient):
    """Answers with ``hashed_answer`` after a delay set by the prompt: ``reverse`` flips which calls finish first."""

    def __init__(self, reverse: bool = False, answer=hashed_answer):
        super().__init__(answer)
        self.reverse = reverse

    def complete(self, messages, **kw):
        step = _digest(messages[-1]["content"]) % 4
        time.sleep(0.004 * (3 - step if self.reverse else step))
        return super().complete(messages, **kw)


class PacedEvaluator(FakeEvaluator):
    def __init__(self, reverse: bool = False, latency=None):
        super().__init__(latency)
        self.reverse = reverse

    def evaluate(self, problem, source, *, seeds=None):
        step = _digest(source) % 4
        time.sleep(0.004 * (3 - step if self.reverse else step))
        return super().evaluate(problem, source, seeds=seeds)


def _llm(client, **budget) -> LLMService:
    return LLMService("vllm:fake", {"vllm": client}, budget=Budget(**budget))


def _llm_run(tmp_path, problem_dir, client, evaluator, **options):
    return autocomp.optimize(problem_dir, agent="llm", evaluator=evaluator, llm=_llm(client), out=tmp_path / "runs",
                             workers=3, llm_concurrency=6, **{**LLM_OPTIONS, **options})


class Interrupt:
    """on_event hook raising Ctrl-C at the ``n``-th event of ``kind`` (an event the deciding thread emits)."""

    def __init__(self, kind: str, n: int, **match):
        self.kind, self.n, self.match, self.seen = kind, n, match, 0

    def __call__(self, kind: str, data: dict) -> None:
        if kind == self.kind and all(data.get(k) == v for k, v in self.match.items()):
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt


@pytest.fixture(scope="module")
def llm_reference(tmp_path_factory):
    """The uninterrupted LLM run (forward pacing), made once: every test here compares with the same run, a pure
    function of the problem, the seed and the answers."""
    root = tmp_path_factory.mktemp("llm-reference")
    with pytest.MonkeyPatch.context() as mp:  # module scope comes before conftest's per-test cache directory
        mp.setenv("AUTOCOMP_CACHE_DIR", str(root / "cache"))
        return _llm_run(root, write_problem(root / "problems"), PacedClient(), PacedEvaluator())


@pytest.fixture(scope="module")
def knob_reference(tmp_path_factory):
    """The uninterrupted knob run on the grid problem, made once for every interruption point."""
    root = tmp_path_factory.mktemp("knob-reference")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOCOMP_CACHE_DIR", str(root / "cache"))
        return autocomp.optimize(grid_problem(root), evaluator=PacedEvaluator(latency=grid_latency),
                                 **{**KNOB_OPTIONS, "out": root / "ref"})


KNOB_OPTIONS = dict(agent="knobs", beam=2, iterations=4, knob_batch=4, seed=7, workers=2)


def _request(reader: RunReader, call) -> tuple:
    """A request as the response cache keys it: phase, sample and messages."""
    return call.phase, call.sample_index, json.dumps(reader.llm_exchange(call.id)[0], sort_keys=True)


def test_completion_order_of_calls_and_evaluations_does_not_change_the_search(tmp_path, problem_dir, llm_reference):
    a = llm_reference
    b = _llm_run(tmp_path / "b", problem_dir, PacedClient(reverse=True), PacedEvaluator(reverse=True))
    first, second = run_trace(a.run_dir), run_trace(b.run_dir)
    assert len(first["candidates"]) >= 12 and {c[3] for c in first["candidates"]} >= {"llm", "repair", "knob"}
    assert not differences(first, second)
    assert (a.best_candidate, a.best_latency_us, a.stop_reason) == (b.best_candidate, b.best_latency_us,
                                                                   b.stop_reason)


@pytest.mark.parametrize("nth", [2, 7, 11])
def test_an_llm_run_interrupted_mid_iteration_resumes_into_the_uninterrupted_run(tmp_path, problem_dir, nth,
                                                                                 llm_reference):
    reference = llm_reference
    first = autocomp.optimize(problem_dir, agent="llm", evaluator=PacedEvaluator(), llm=_llm(PacedClient()),
                              out=tmp_path / "runs", workers=3, llm_concurrency=6,
                              on_event=Interrupt("candidate", nth), **LLM_OPTIONS)
    assert first.status == "interrupted"
    with RunReader.open_readonly(first.run_dir) as reader:
        calls = {c.id: c for c in reader.llm_calls()}
        recorded = {_request(reader, calls[d.data["llm_call"]]): d.key for d in reader.decisions()
                    if d.data.get("llm_call")}
    assert recorded
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=PacedEvaluator(reverse=True),
                                llm=_llm(PacedClient(reverse=True)), out=tmp_path / "runs")
    assert resumed.status == "finished"
    # Recorded answers are replayed, never asked again (this service has no response cache to hide a re-ask).
    # The same request may be made for another slot (the same plan for the same parent in a later iteration):
    # such a call is that slot's recorded decision; a re-ask of a recorded slot would be recorded nowhere.
    with RunReader.open_readonly(resumed.run_dir) as reader:
        decided = {d.data["llm_call"]: d.key for d in reader.decisions() if d.data.get("llm_call")}
        asked = [(c.id, _request(reader, c)) for c in reader.llm_calls() if c.id > max(calls)]
    assert asked
    reasked = [recorded[req] for call, req in asked if req in recorded and decided.get(call) in (None, recorded[req])]
    assert not reasked
    assert not differences(run_trace(resumed.run_dir), run_trace(reference.run_dir))
    assert (resumed.best_candidate, resumed.stop_reason) == (reference.best_candidate, reference.stop_reason)


@pytest.mark.parametrize("nth", [2, 6])
def test_a_knob_run_interrupted_mid_iteration_proposes_what_it_had_proposed(tmp_path, nth, knob_reference):
    problem = grid_problem(tmp_path)
    options = {**KNOB_OPTIONS, "out": tmp_path / "runs"}
    reference = knob_reference
    first = autocomp.optimize(problem, evaluator=PacedEvaluator(latency=grid_latency),
                              on_event=Interrupt("candidate", nth), **options)
    assert first.status == "interrupted"
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=PacedEvaluator(reverse=True, latency=grid_latency),
                                out=tmp_path / "runs")
    trace, full = run_trace(resumed.run_dir), run_trace(reference.run_dir)
    assert not differences(trace, full)
    assert len(full["beams"]) >= 4 and any(c[2] == 1 for c in full["candidates"])


def test_a_stage_that_ran_dry_stays_ended_on_resume(tmp_path, problem_dir):
    """The LLM stage ends when the budget refuses a call; a resumed process has not been refused yet and must
    not run LLM iterations that the uninterrupted run never ran (nor renumber the polish stage)."""
    problem = write_problem(tmp_path / "problems", kernel=KERNEL.format(tile_f=64).replace(
        "TILE_F = 64  # columns per tile", "TILE_F = 64  # columns per tile\nBLOCK = 1"), knobs=False)
    with open(problem / "problem.toml", "a") as f:
        f.write("[knobs]\nTILE_F = [64, 128, 256, 512]\nBLOCK = [1, 2, 3, 4]\n")
    options = dict(beam=1, plans=2, impls=2, repairs=2, iterations=4, early_stop=4, seed=7, polish_iterations=3,
                   polish_beam=2, polish_early_stop=5, knob_batch=2, workers=2, llm_concurrency=1, agent="llm")

    def run(out, **kw):
        client = ScriptedClient(scripted_answer)
        return autocomp.optimize(problem, evaluator=FakeEvaluator(), llm=_llm(client, max_llm_calls=5),
                                 out=out, **options, **kw)

    reference = run(tmp_path / "ref")
    full = run_trace(reference.run_dir)
    assert "LLM budget exhausted" in reference.stop_reason and "knobs: iterations" in reference.stop_reason
    assert [d[5]["stage"] for d in full["decisions"] if d[2] == "iteration"] == ["llm", "knobs", "knobs", "knobs"]
    first = run(tmp_path / "runs", on_event=Interrupt("iteration_start", 2, stage="knobs"))
    assert first.status == "interrupted"
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(),
                                llm=_llm(ScriptedClient(scripted_answer), max_llm_calls=5), out=tmp_path / "runs")
    assert not differences(run_trace(resumed.run_dir), full)
    assert (resumed.status, resumed.stop_reason, resumed.iterations) == (reference.status, reference.stop_reason,
                                                                         reference.iterations)


def test_early_stopping_is_decided_by_selection_stale_iterations(tmp_path, monkeypatch):
    seen = []

    def never_improving(bests, **kw):
        seen.append(len(bests))
        return 99

    monkeypatch.setattr(loop_module, "stale_iterations", never_improving)
    result = autocomp.optimize(grid_problem(tmp_path), agent="knobs", evaluator=FakeEvaluator(grid_latency),
                               out=tmp_path / "runs", workers=2, iterations=5, early_stop=3)
    assert "no improvement in 99 iterations" in result.stop_reason and result.iterations == 0 and seen == [1]
