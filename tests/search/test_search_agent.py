"""The LLM agent in process: plan, implement, dedup, repair, budget (fake LLM client, fake evaluator)."""

from __future__ import annotations

import autocomp
from autocomp.llm import LLMService
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator, ScriptedClient, kernel_with, scripted_answer


def _llm(client: ScriptedClient, **budget) -> LLMService:
    from autocomp.llm import Budget

    return LLMService("vllm:fake", {"vllm": client}, budget=Budget(**budget))


def _optimize(tmp_path, problem_dir, client, evaluator=None, llm=None, **options):
    options.setdefault("beam", 1)
    options.setdefault("plans", 2)
    options.setdefault("impls", 2)
    options.setdefault("repairs", 2)
    options.setdefault("iterations", 1)
    return autocomp.optimize(problem_dir, agent="llm", evaluator=evaluator or FakeEvaluator(),
                             llm=llm or _llm(client), out=tmp_path / "runs", workers=2, **options)


def test_plan_implement_repair_dedup_and_selection(tmp_path, problem_dir):
    client, ev = ScriptedClient(), FakeEvaluator()
    result = _optimize(tmp_path, problem_dir, client, ev, tune_after_llm=False)
    assert result.status == "finished" and result.agent == "llm"
    assert "TILE_F = 512" in result.best_source and result.speedup > 1.5
    with RunReader.open_readonly(result.run_dir) as reader:
        cands = reader.candidates()
        by_origin = {}
        for c in cands:
            by_origin.setdefault(c.origin, []).append(c)
        assert len(by_origin["llm"]) == 2  # A (correct) and B (broken); A's second sample was a duplicate
        assert len(by_origin["repair"]) == 2  # B -> wrong numbers -> fixed
        assert [c.status for c in by_origin["repair"]] == ["incorrect", "correct"]
        broken = next(c for c in by_origin["llm"] if c.status != "correct")
        assert broken.status == "compile_error" and broken.plan.startswith("PLAN B")
        repair1, repair2 = by_origin["repair"]
        assert repair1.parent_id == broken.id and repair2.parent_id == repair1.id
        assert all(c.meta["beam_parent"] == cands[0].source_hash for c in by_origin["repair"])
        # Every candidate keeps its prompt and answer.
        assert (reader.candidate_dir(broken.id) / "prompt.md").read_text().count("## Plan to implement") == 1
        assert "BROKEN" in (reader.candidate_dir(broken.id) / "response.md").read_text()
        phases = sorted(c.phase for c in reader.llm_calls())
        assert phases == ["implement"] * 4 + ["plan"] * 2 + ["repair"] * 2
        assert broken.llm_call_id is not None
    assert result.duplicates_skipped >= 1 and result.llm_calls == 8


def test_repair_prompts_show_the_error_line_and_the_numbers(tmp_path, problem_dir):
    client = ScriptedClient()
    _optimize(tmp_path, problem_dir, client, tune_after_llm=False)
    repairs = [m[-1]["content"] for m in client.requests if "## What went wrong" in m[-1]["content"]]
    compile_fix = next(r for r in repairs if "compile_error" in r)
    assert "At line 15" in compile_fix and ">>15 |" in compile_fix and "partition dimension 256" in compile_fix
    numbers_fix = next(r for r in repairs if "incorrect" in r)
    assert "worst at index [3, 7]: got 2.5, expected 1" in numbers_fix and "relative L2 error = 0.4" in numbers_fix


def test_plans_see_profile_and_lineage_history(tmp_path, problem_dir):
    client = ScriptedClient()
    _optimize(tmp_path, problem_dir, client, iterations=2, beam=2, early_stop=5, tune_after_llm=False)
    plans = [m[-1]["content"] for m in client.requests if "This is plan" in m[-1]["content"]]
    first, later = plans[0], plans[-1]
    assert "DMA 90.0%" in first and "dma-bound" in first and "Nothing yet" in first
    assert "PLAN A" in later and "-> #" in later  # iteration 2 sees what iteration 1 tried
    assert "compile_error" in "\n".join(plans[2:])


def test_budget_stops_the_llm_cleanly_and_knobs_still_polish(tmp_path, problem_dir):
    client = ScriptedClient()
    result = _optimize(tmp_path, problem_dir, client, llm=_llm(client, max_llm_calls=3), iterations=3)
    assert result.status == "budget_exhausted" and "LLM budget exhausted (max_llm_calls)" in result.stop_reason
    assert "max_llm_calls=3 and 3 calls made" in result.stop_reason
    assert "knobs:" in result.stop_reason
    assert len(client.requests) == 3 and result.llm_calls == 3
    assert "TILE_F = 512" in result.best_source


def test_an_answer_without_code_gets_a_repair_that_says_so(tmp_path, problem_dir):
    def answer(messages):
        user = messages[-1]["content"]
        if "## Plan to implement" in user:
            return "I would use bigger tiles."
        if "## What went wrong: no_kernel" in user:
            return "```python\n" + kernel_with(256) + "```"
        return scripted_answer(messages)

    client = ScriptedClient(answer)
    result = _optimize(tmp_path, problem_dir, client, plans=1, impls=1, tune_after_llm=False)
    assert "TILE_F = 256" in result.best_source
    fix = next(m[-1]["content"] for m in client.requests if "What went wrong" in m[-1]["content"])
    assert "contains no code" in fix
    with RunReader.open_readonly(result.run_dir) as reader:
        assert any(e["kind"] == "extract_failed" for e in reader.events())


def test_truncated_answers_are_repaired_not_evaluated(tmp_path, problem_dir):
    def answer(messages):
        text = scripted_answer(messages)
        if "## Plan to implement" in messages[-1]["content"]:
            return text[: len(text) // 2], "length"
        if "What went wrong: no_kernel" in messages[-1]["content"]:
            return "```python\n" + kernel_with(256) + "```"
        return text

    client, ev = ScriptedClient(answer), FakeEvaluator()
    _optimize(tmp_path, problem_dir, client, ev, plans=1, impls=1, repairs=1, tune_after_llm=False)
    fix = next(m[-1]["content"] for m in client.requests if "What went wrong" in m[-1]["content"])
    assert "cut off" in fix and "no_kernel" in fix
    assert not any("TILE_F = 512" in s and "scale_add" in s and s.count("def ") == 1 and len(s) < 300
                   for s in ev.calls)  # the half kernel was never evaluated
    assert len(ev.calls) == 3  # baseline, the repaired kernel, its re-validation
