"""A run against a provider that misreports its usage stops at --max-usd and says so (fake OpenAI server)."""

from __future__ import annotations

import itertools

import pytest

import autocomp
from autocomp.store import RunReader
from tests.fakes.llm_server import FakeLLMServer, Reply, SeenRequest
from tests.fakes.search import FakeEvaluator, scripted_openai

KEY = "sk-test-budget-run-0000"
CAP = 0.05


def _optimize(tmp_path, problem_dir, url: str):
    # One LLM call at a time, so "no call after the one that spent the cap" is exact; small max_tokens so a
    # call's worst case fits $0.05 a few times over.
    return autocomp.optimize(problem_dir, agent="llm", models=["openai:gpt-5"], llm_base_url=url + "/v1",
                             max_usd=CAP, llm_concurrency=1, plan_max_tokens=400, impl_max_tokens=800,
                             beam=1, plans=2, impls=2, repairs=2, iterations=3, early_stop=3,
                             evaluator=FakeEvaluator(), out=tmp_path / "runs", workers=2, env={"OPENAI_API_KEY": KEY})


def _recorded_costs(result) -> list[float]:
    with RunReader.open_readonly(result.run_dir) as reader:
        return [c.cost_usd for c in reader.llm_calls()]


def test_a_provider_reporting_a_billion_tokens_stops_the_run_at_once(tmp_path, problem_dir):
    calls = itertools.count(1)

    def overreport_third(req: SeenRequest) -> Reply:
        reply = scripted_openai(req)
        if next(calls) == 3:
            reply.body["usage"]["completion_tokens"] = 10**9
        return reply

    with FakeLLMServer(overreport_third) as server:
        result = _optimize(tmp_path, problem_dir, server.url)
        sent = len(server.requests)
    costs = _recorded_costs(result)
    # Nothing was sent after the call that passed the cap settled.
    assert sent == 3 and len(costs) == 3 and result.llm_calls == 3
    # Before the stop the run never passed --max-usd; the overrun is only the provider's own report, charged.
    assert sum(costs[:2]) <= CAP and costs[2] == pytest.approx(10_000, rel=1e-3)
    assert result.llm_cost_usd == pytest.approx(sum(costs))
    assert result.status == "budget_exhausted"
    assert f"spent of max_usd=${CAP:.2f}" in result.stop_reason and "No further LLM call is made" in result.stop_reason
    assert "reported 1,000,000,000 output tokens for max_tokens=800" in result.stop_reason
    assert "knobs:" in result.stop_reason  # the free knob polish still ran
    with RunReader.open_readonly(result.run_dir) as reader:
        assert reader.info.status == "finished" and "LLM budget exhausted" in reader.info.status_reason


@pytest.mark.parametrize("garbage", [-7, "lots", None], ids=["negative", "string", "null"])
def test_garbage_usage_is_charged_the_worst_case_and_never_passes_the_cap(tmp_path, problem_dir, garbage):
    def misreport(req: SeenRequest) -> Reply:
        reply = scripted_openai(req)
        reply.body["usage"]["completion_tokens"] = garbage
        return reply

    with FakeLLMServer(misreport) as server:
        result = _optimize(tmp_path, problem_dir, server.url)
        sent = len(server.requests)
    costs = _recorded_costs(result)
    assert result.status == "budget_exhausted" and "Raise --max-usd" in result.stop_reason
    assert sent == len(costs) >= 3
    # Every call was charged its full max_tokens of output ($0.004 for a plan, $0.008 for a kernel at $10/M)...
    assert min(costs) >= 400 * 10 / 1e6
    # ...and the run stopped before a call could take the spend past the cap.
    assert sum(costs) <= CAP and result.llm_cost_usd == pytest.approx(sum(costs))
