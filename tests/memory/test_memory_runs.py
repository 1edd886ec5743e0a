"""The experience memory across runs (docs/architecture.md#experience-memory): a second run on a related problem
gets the first run's relevant entries in its plan prompts, --no-memory takes them away, and a resumed run sees
the entries it saw before it was stopped."""

from __future__ import annotations

import json
import re
import sqlite3

import autocomp
from autocomp.llm import Budget, LLMService
from autocomp.memory import MemoryStore, candidate_pool
from autocomp.problem import Problem
from autocomp.search.experience import problem_query
from autocomp.store import RunReader
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.search import FakeEvaluator, ScriptedClient, scripted_openai, write_problem

SECTION = "## Experience from earlier runs"
RUN = dict(beam=1, plans=2, impls=2, repairs=2, iterations=1, tune_after_llm=False, workers=2, revalidate_seeds=0)


def tagged_problem(root, name: str, tags: str) -> object:
    d = write_problem(root, name)
    toml = d / "problem.toml"
    toml.write_text(toml.read_text().replace("check_shapes = true\n", f"check_shapes = true\ntags = {tags}\n"))
    return d


def plan_prompts(requests) -> list[str]:
    return [r for r in requests if "## Your task\nThis is plan" in r]


def optimize_via_server(server, problem, out, **options):
    return autocomp.optimize(problem, agent="llm", models=["vllm:fake-coder"], llm_base_url=server.url + "/v1",
                             evaluator=FakeEvaluator(), out=out, **{**RUN, **options})


def test_a_second_run_on_a_related_problem_sees_the_first_runs_entries_and_no_memory_removes_them(
        tmp_path, memory_file):
    root = tmp_path / "problems"
    first_problem = tagged_problem(root, "scale_add", '["elementwise", "fp32", "memory-bound"]')
    related = tagged_problem(root, "scale_add_wide", '["elementwise", "fp32"]')
    with FakeLLMServer(scripted_openai) as server:
        first = optimize_via_server(server, first_problem, tmp_path / "runs")
        first_prompts = plan_prompts([r.body["messages"][-1]["content"] for r in server.requests])
        seen = len(server.requests)
        second = optimize_via_server(server, related, tmp_path / "runs")
        second_prompts = plan_prompts([r.body["messages"][-1]["content"] for r in server.requests[seen:]])
        seen = len(server.requests)
        third = optimize_via_server(server, related, tmp_path / "runs", memory_enabled=False)
        third_prompts = plan_prompts([r.body["messages"][-1]["content"] for r in server.requests[seen:]])
    assert first.status == second.status == third.status == "finished"
    assert first.speedup > 1.3

    # The first run found an empty memory and left its accepted improvements.
    assert first_prompts and not any(SECTION in p for p in first_prompts)
    entries = MemoryStore(memory_file).entries()
    kept = [e for e in entries if e.run_id == first.run_id]
    assert {e.kind for e in kept} == {"improvement"} and len(kept) == 2  # plan A, and plan B once repaired
    (improvement,) = [e for e in kept if "PLAN A" in e.plan]
    assert improvement.problem == "scale_add" and improvement.family == "elementwise"
    assert improvement.evidence == "sim" and improvement.gain > 1.3 and "PLAN A" in improvement.plan
    assert "+TILE_F = 512" in improvement.change and improvement.bottleneck.bound == "hbm"
    assert improvement.candidate_id is not None and improvement.target == "trn1" and improvement.dialect == "v1"

    # The second run's every plan prompt quotes that entry, saying where it came from.
    assert second_prompts
    for prompt in second_prompts:
        section = prompt[prompt.index(SECTION):prompt.index("## Optimizations to consider")]
        assert f"[memory #{improvement.id}]" in section
        assert f"from run {first.run_id} (problem scale_add, candidate #{improvement.candidate_id}" in section
        assert "> PLAN A: raise TILE_F to 512" in section and "+TILE_F = 512" in section
        assert "### Estimated by autocomp's simulator (sim)" in section
    # ... and its own run directory keeps the pool it was shown (what --resume replays).
    with RunReader.open_readonly(second.run_dir) as reader:
        (pool,) = [d for d in reader.decisions() if d.key == "memory"]
    assert pool.data["enabled"] and improvement.key in [e["key"] for e in pool.data["entries"]]

    # --no-memory: no section, and nothing recorded.
    assert third_prompts and not any(SECTION in p for p in third_prompts)
    assert not any(e.run_id == third.run_id for e in MemoryStore(memory_file).entries())
    with RunReader.open_readonly(third.run_dir) as reader:
        (pool,) = [d for d in reader.decisions() if d.key == "memory"]
    assert pool.data == {"enabled": False, "entries": [], "note": "memory off", "path": None}


def test_an_unrelated_problem_is_shown_nothing(tmp_path, memory_file):
    root = tmp_path / "problems"
    first = tagged_problem(root, "scale_add", '["elementwise", "fp32"]')
    other = tagged_problem(root, "not_related", '["matmul"]')
    client = ScriptedClient()
    autocomp.optimize(first, llm=LLMService("vllm:fake", {"vllm": client}), agent="llm", evaluator=FakeEvaluator(),
                      out=tmp_path / "runs", **RUN)
    assert MemoryStore(memory_file).entries()
    client.requests.clear()
    # Another family, no shared tag, and a tensor-bound kernel where the first run's were DMA-bound.
    evaluator = FakeEvaluator()
    evaluator.evaluate = _tensor_bound(evaluator.evaluate)
    autocomp.optimize(other, llm=LLMService("vllm:fake", {"vllm": client}), agent="llm", evaluator=evaluator,
                      out=tmp_path / "runs", **RUN)
    assert not any(SECTION in m[-1]["content"] for m in client.requests)


def _tensor_bound(evaluate):
    def wrapped(problem, source, *, seeds=None):
        result = evaluate(problem, source, seeds=seeds)
        if result.get("status") == "correct":
            result["profile"] = {**result["profile"], "roofline_bound": "tensor", "dma_active_time_percent": 0.1,
                                 "vector_engine_active_time_percent": 0.0,
                                 "tensor_engine_active_time_percent": 0.95}
        return result
    return wrapped


class StopAtSecondPlan:
    """on_event hook: Ctrl-C once the first plan's kernels are in (the run is then resumed)."""

    def __init__(self):
        self.candidates = 0

    def __call__(self, kind, data):
        if kind == "candidate":
            self.candidates += 1
            if self.candidates == 2:
                raise KeyboardInterrupt


def test_a_resumed_run_sees_the_entries_it_saw_before_and_records_nothing_twice(tmp_path, memory_file):
    root = tmp_path / "problems"
    client = ScriptedClient()

    def llm():
        return LLMService("vllm:fake", {"vllm": client}, budget=Budget())

    first = autocomp.optimize(tagged_problem(root, "scale_add", '["elementwise"]'), llm=llm(), agent="llm",
                              evaluator=FakeEvaluator(), out=tmp_path / "runs", **RUN)
    recorded = len(MemoryStore(memory_file).entries())
    assert recorded >= 2
    client.requests.clear()
    related = tagged_problem(root, "scale_add_2", '["elementwise"]')
    stopped = autocomp.optimize(related, llm=llm(), agent="llm", evaluator=FakeEvaluator(), out=tmp_path / "runs",
                                on_event=StopAtSecondPlan(), **{**RUN, "iterations": 2, "early_stop": 2})
    assert stopped.status == "interrupted"
    before = [m[-1]["content"] for m in client.requests if "## Your task\nThis is plan" in m[-1]["content"]]
    assert before and all(SECTION in p for p in before)
    shown_before = set(re.findall(r"\[memory #(\d+)\]", "".join(before)))

    # Meanwhile another run adds a better, closer entry to the memory: the resumed run must not see it.
    store = MemoryStore(memory_file)
    newcomer = store.entries()[0].model_copy(update={"key": "elsewhere#1", "run_id": "elsewhere", "gain": 50.0,
                                                     "problem": "scale_add_2", "plan": "NEWCOMER plan"})
    store.add([newcomer])
    client.requests.clear()
    resumed = autocomp.optimize(resume=stopped.run_dir, llm=llm(), evaluator=FakeEvaluator(), out=tmp_path / "runs")
    assert resumed.status == "finished"
    after = [m[-1]["content"] for m in client.requests if "## Your task\nThis is plan" in m[-1]["content"]]
    assert after, "the resumed run planned its second iteration"
    assert not any("NEWCOMER" in p for p in after)
    assert set(re.findall(r"\[memory #(\d+)\]", "".join(after))) <= shown_before
    # (A run started now would have been shown it first.)
    query = problem_query(Problem.load(related), "trn1", "fresh", None)
    assert candidate_pool(store.entries(), query)[0].key == "elsewhere#1"

    # The resumed run recorded its own entries once; finishing again (recording again) adds none.
    mine = [e for e in MemoryStore(memory_file).entries() if e.run_id == stopped.run_id]
    assert mine and len({e.key for e in mine}) == len(mine)
    assert len(MemoryStore(memory_file).entries()) == recorded + 1 + len(mine)
    assert first.run_id != stopped.run_id


def test_memory_options_round_trip_through_the_runs_config(tmp_path, memory_file):
    problem = tagged_problem(tmp_path / "problems", "scale_add", '["elementwise"]')
    result = autocomp.optimize(problem, agent="knobs", evaluator=FakeEvaluator(), out=tmp_path / "runs", beam=1,
                               iterations=2, workers=2, revalidate_seeds=0, memory_budget_tokens=300,
                               memory_path=tmp_path / "elsewhere.sqlite")
    text = (result.run_dir / "config.toml").read_text()
    assert "[memory]" in text and "budget_tokens = 300" in text and "elsewhere.sqlite" in text
    # Knob-only runs also leave what they found: the tuner's improvements, in the file the run was given.
    kept = MemoryStore(tmp_path / "elsewhere.sqlite").entries()
    assert kept and all(e.plan.startswith("knobs:") for e in kept)
    assert not memory_file.exists()
    assert json.loads(json.dumps([e.model_dump(mode="json") for e in kept]))


def test_a_run_from_before_the_memory_resumes_without_one(tmp_path, memory_file):
    root = tmp_path / "problems"
    client = ScriptedClient()
    autocomp.optimize(tagged_problem(root, "scale_add", '["elementwise"]'),
                      llm=LLMService("vllm:fake", {"vllm": client}), agent="llm", evaluator=FakeEvaluator(),
                      out=tmp_path / "runs", **RUN)
    stopped = autocomp.optimize(tagged_problem(root, "scale_add_2", '["elementwise"]'),
                                llm=LLMService("vllm:fake", {"vllm": client}), agent="llm",
                                evaluator=FakeEvaluator(), out=tmp_path / "runs", on_event=StopAtSecondPlan(),
                                **{**RUN, "iterations": 2, "early_stop": 2})
    # What a run of an earlier version looks like: plans asked for, no memory decision.
    with sqlite3.connect(stopped.run_dir / "run.sqlite") as conn:
        conn.execute("DELETE FROM decisions WHERE key = 'memory'")
    client.requests.clear()
    resumed = autocomp.optimize(resume=stopped.run_dir, llm=LLMService("vllm:fake", {"vllm": client}),
                                evaluator=FakeEvaluator(), out=tmp_path / "runs")
    assert resumed.status == "finished"
    assert not any(SECTION in m[-1]["content"] for m in client.requests)
    with RunReader.open_readonly(resumed.run_dir) as reader:
        (pool,) = [d for d in reader.decisions() if d.key == "memory"]
    assert pool.data["note"] == "the run started without a memory" and pool.data["entries"] == []
