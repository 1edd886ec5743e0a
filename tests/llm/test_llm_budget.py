"""Budgets stop a run before the call that could overspend; run cost estimates."""

from __future__ import annotations

import pytest

from autocomp.llm import (
    Budget,
    BudgetExceeded,
    Ensemble,
    LLMError,
    LLMService,
    PriceTable,
    ResponseCache,
    ServerError,
    estimate_call,
    estimate_run_cost,
    parse_model_spec,
)
from autocomp.llm.budget import CallEstimate
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import Reply, openai_error, openai_ok

PROMPT = [{"role": "user", "content": "x" * 4000}]  # ~1000 tokens + 4 overhead


def make(url: str, retry, budget: Budget, **kw) -> LLMService:
    client = OpenAIClient(api_key="sk-test-budget-00000", base_url=url + "/v1")
    return LLMService("openai:gpt-5", {"openai": client}, retry=retry, budget=budget, **kw)


def test_worst_case_estimate():
    est = estimate_call(PROMPT, 1000, parse_model_spec("openai:gpt-5"), PriceTable())
    assert (est.input_tokens, est.output_tokens) == (1004, 1000)
    assert est.cost_usd == pytest.approx((1004 * 1.25 + 1000 * 10) / 1e6)


def test_usd_budget_raises_before_the_call_that_could_exceed_it(openai_server, retry):
    # Each call: worst case ~$0.01125; actual $0.00125 + $0.002 = $0.00325.
    openai_server.push(*[Reply(200, openai_ok(f"r{i}", prompt_tokens=1000, completion_tokens=200)) for i in range(5)])
    budget = Budget(max_usd=0.02)
    svc = make(openai_server.url, retry, budget)
    svc.complete(PROMPT, phase="plan", max_tokens=1000)
    svc.complete(PROMPT, phase="plan", max_tokens=1000)
    assert len(openai_server.requests) == 2
    # $0.0065 spent, $0.0135 left: a third call could cost $0.01125, still fits
    svc.complete(PROMPT, phase="plan", max_tokens=1000, sample_index=1)
    # $0.00975 spent, $0.01025 left < $0.01125 worst case: refused, nothing sent
    with pytest.raises(BudgetExceeded) as info:
        svc.complete(PROMPT, phase="plan", max_tokens=1000, sample_index=2)
    assert len(openai_server.requests) == 3
    assert info.value.limit == "max_usd" and "Raise --max-usd" in str(info.value)
    assert budget.spent_usd == pytest.approx(3 * 0.00325)
    assert budget.spent_usd <= budget.max_usd


def test_budget_exceeded_is_not_an_llm_error():
    assert not issubclass(BudgetExceeded, LLMError)


def test_call_limit(openai_server, retry):
    svc = make(openai_server.url, retry, Budget(max_llm_calls=2))
    for i in range(2):
        svc.complete(PROMPT, phase="plan", sample_index=i)
    with pytest.raises(BudgetExceeded, match="max_llm_calls=2"):
        svc.complete(PROMPT, phase="plan", sample_index=2)
    assert len(openai_server.requests) == 2


def test_token_limit_counts_the_full_max_tokens(openai_server, retry):
    svc = make(openai_server.url, retry, Budget(max_tokens=3000))
    with pytest.raises(BudgetExceeded) as info:
        svc.complete(PROMPT, phase="plan", max_tokens=2000)
    assert info.value.limit == "max_tokens" and info.value.needed == 3004
    assert openai_server.requests == []
    svc.complete(PROMPT, phase="plan", max_tokens=1900)
    assert len(openai_server.requests) == 1


def test_cache_hits_do_not_use_budget(openai_server, retry, tmp_path):
    svc = make(openai_server.url, retry, Budget(max_llm_calls=1), cache=ResponseCache(tmp_path / "c.sqlite"))
    for _ in range(3):
        svc.complete(PROMPT, phase="plan")
    assert len(openai_server.requests) == 1


def test_failed_call_gives_its_reservation_back(openai_server, retry):
    retry.max_attempts = 1
    openai_server.push(openai_error(500, "boom", type_="server_error"))
    budget = Budget(max_llm_calls=1)
    svc = make(openai_server.url, retry, budget)
    with pytest.raises(ServerError):
        svc.complete(PROMPT, phase="plan")
    assert budget.calls == 0
    svc.complete(PROMPT, phase="plan")
    assert budget.calls == 1


def test_calls_in_flight_count_against_the_budget():
    budget = Budget(max_usd=1.0)
    held = budget.reserve(CallEstimate(10, 10, 0.6))
    with pytest.raises(BudgetExceeded):
        budget.reserve(CallEstimate(10, 10, 0.6))
    budget.commit(held, tokens=20, cost_usd=0.1)
    budget.reserve(CallEstimate(10, 10, 0.6))
    assert budget.spent_usd == pytest.approx(0.1)


def test_local_models_fit_a_zero_budget(openai_server, retry):
    from autocomp.llm.openai_compatible import OpenAICompatibleClient

    client = OpenAICompatibleClient("vllm", base_url=openai_server.url + "/v1", env={})
    svc = LLMService("vllm:qwen", {"vllm": client}, retry=retry, budget=Budget(max_usd=0.0))
    assert svc.complete(PROMPT, phase="plan").cost_usd == 0.0


def test_estimate_run_cost_weights_the_ensemble():
    ensemble = Ensemble({"openai:gpt-5": 3, "vllm:qwen": 1})
    est = estimate_run_cost(
        {"plan": 10, "implement": 20},
        prompt_chars={"plan": 4000, "implement": 8000},
        output_tokens=1000,
        models=ensemble,
    )
    plan_in, impl_in = 1004, 2004
    gpt5 = lambda tin: (tin * 1.25 + 1000 * 10) / 1e6  # noqa: E731
    assert est.calls == 30
    assert est.by_phase["plan"].input_tokens == 10 * plan_in
    assert est.by_phase["implement"].cost_usd == pytest.approx(20 * 0.75 * gpt5(impl_in))
    assert est.cost_usd == pytest.approx(10 * 0.75 * gpt5(plan_in) + 20 * 0.75 * gpt5(impl_in))
    assert est.unpriced_models == ()


def test_estimate_run_cost_reports_unpriced_models():
    est = estimate_run_cost({"plan": 1}, prompt_chars=100, output_tokens=10, models="openai:gpt-99")
    assert est.unpriced_models == ("openai:gpt-99",) and est.cost_usd == 0.0


def test_a_limit_passed_by_a_commit_refuses_every_later_call_and_keeps_the_first_refusal():
    budget = Budget(max_usd=1.0, max_tokens=100)
    held = budget.reserve(CallEstimate(10, 10, 0.5))
    budget.commit(held, tokens=500, cost_usd=0.2, note="the provider reported 490 output tokens")
    with pytest.raises(BudgetExceeded, match=r"500 tokens used of max_tokens=100\..*reported 490") as first:
        budget.reserve(CallEstimate(1, 0, 0.0))  # even a call that could cost nothing
    with pytest.raises(BudgetExceeded):
        budget.reserve(CallEstimate(1, 0, 0.0))
    refusal = first.value
    assert budget.exhausted is refusal
    assert (refusal.limit, refusal.spent, refusal.cap, refusal.remaining) == ("max_tokens", 500, 100, -400)


def test_reaching_the_call_limit_reports_calls_made_and_the_cap():
    budget = Budget(max_llm_calls=1)
    budget.commit(budget.reserve(CallEstimate(1, 1, 0.0)), tokens=2, cost_usd=0.0)
    with pytest.raises(BudgetExceeded, match="Raise --max-llm-calls and continue the run with --resume") as info:
        budget.reserve(CallEstimate(1, 1, 0.0))
    assert (info.value.spent, info.value.cap) == (1, 1) and budget.exhausted is info.value
