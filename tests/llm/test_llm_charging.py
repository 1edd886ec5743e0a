"""Providers that misreport usage: the charge is clamped, and a spent budget stops every later call."""

from __future__ import annotations

import math

import pytest

from autocomp.llm import Budget, BudgetExceeded, LLMService, PriceTable
from autocomp.llm.anthropic_client import AnthropicClient
from autocomp.llm.charging import MAX_REPORTED_TOKENS, charge_usage, token_count
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import MISSING, Reply, anthropic_ok, openai_ok, with_usage

MSGS = [{"role": "user", "content": "p" * 4000}]  # 1000 tokens by the estimate (+4 per message)
THIRTY_KB = "k" * 30 * 1024
MAX_TOKENS = 12_000
# gpt-5: $1.25 / $10 per million; claude-haiku-4-5: $1 / $5 per million input / output tokens.
RATES = {"openai": (1.25, 10.0), "anthropic": (1.0, 5.0)}


@pytest.mark.parametrize(
    ("value", "count"),
    [(5, 5), (5.0, 5), (0, 0), (10**9, 10**9), (10**20, MAX_REPORTED_TOKENS), (math.inf, MAX_REPORTED_TOKENS),
     (-1, None), (-0.5, None), (math.nan, None), (12.5, None), ("12", None), (True, None), (None, None), ([3], None)],
)
def test_token_count_takes_counts_and_refuses_garbage(value, count):
    assert token_count(value) == count


def test_an_answer_is_charged_at_least_what_its_characters_can_be():
    charge = charge_usage(input_tokens=0, output_tokens=0, messages=MSGS, text=THIRTY_KB, max_tokens=MAX_TOKENS)
    # No tokenizer averages more than 8 characters per token.
    assert (charge.input_tokens, charge.output_tokens) == (500, 30 * 1024 // 8)
    assert len(charge.notes) == 2 and "30,720 characters received" in charge.notes[1]


def test_honest_reports_are_charged_as_reported_and_charging_twice_changes_nothing():
    charge = charge_usage(input_tokens=1000, output_tokens=900, cached_tokens=800, messages=MSGS, text=THIRTY_KB,
                          max_tokens=MAX_TOKENS)
    assert (charge.input_tokens, charge.output_tokens, charge.cached_tokens, charge.notes) == (1000, 3840, 800, (
        "output_tokens 900 is fewer than the 30,720 characters received allow: charged 3,840",))
    again = charge_usage(input_tokens=charge.input_tokens, output_tokens=charge.output_tokens,
                         cached_tokens=charge.cached_tokens, messages=MSGS, text=THIRTY_KB, max_tokens=MAX_TOKENS)
    assert (again.input_tokens, again.output_tokens, again.cached_tokens, again.notes) == (1000, 3840, 800, ())


def test_garbage_is_the_worst_case_and_a_report_over_max_tokens_is_charged_as_reported():
    worst = charge_usage(input_tokens="lots", output_tokens=-3, cached_tokens=-1, cache_write_tokens="x",
                         messages=MSGS, text="ok", max_tokens=MAX_TOKENS)
    assert (worst.input_tokens, worst.output_tokens, worst.cached_tokens, worst.cache_write_tokens) == (
        1004, MAX_TOKENS, 0, 0)
    over = charge_usage(input_tokens=10, output_tokens=10**9, messages=MSGS, text="ok", max_tokens=MAX_TOKENS)
    assert over.output_tokens == 10**9 and "1,000,000,000 output tokens for max_tokens=12,000" in over.notes[-1]


def test_a_megabyte_usage_field_is_quoted_short():
    charge = charge_usage(input_tokens=10, output_tokens="9" * 10**6 + "x", messages=MSGS, text="", max_tokens=5)
    assert len(charge.notes[0]) < 200


def _client(provider: str, url: str):
    if provider == "openai":
        return "openai:gpt-5", OpenAIClient(api_key="sk-test-charging-0000", base_url=url + "/v1")
    return "anthropic:claude-haiku-4-5", AnthropicClient(api_key="sk-ant-test-charging-0000", base_url=url)


def _misreported(provider: str, output_tokens, text: str = "def kernel(): pass") -> Reply:
    if provider == "openai":
        body = openai_ok(text)
        usage = MISSING if output_tokens is MISSING else {"prompt_tokens": 1000, "completion_tokens": output_tokens}
    else:
        body = anthropic_ok(text)
        usage = MISSING if output_tokens is MISSING else {"input_tokens": 1000, "output_tokens": output_tokens}
    return Reply(200, with_usage(body, usage))


@pytest.fixture(params=["openai", "anthropic"])
def provider(request, openai_server, anthropic_server):
    server = openai_server if request.param == "openai" else anthropic_server
    return request.param, server


@pytest.mark.parametrize(
    ("reported", "text", "charged_in", "charged_out"),
    [
        (10**9, "ok", 1000, 10**9),  # real money: charged as reported
        (-5, "ok", 1000, MAX_TOKENS),
        (MISSING, "ok", 1004, MAX_TOKENS),  # no usage at all: the estimate and max_tokens
        ("many", "ok", 1000, MAX_TOKENS),
        (math.nan, "ok", 1000, MAX_TOKENS),
        (12.5, "ok", 1000, MAX_TOKENS),
        (0, THIRTY_KB, 1000, 3840),  # 0 tokens for 30 KB: charged from the characters
    ],
    ids=["1e9", "negative", "missing", "string", "nan", "fraction", "zero-for-30KB"],
)
def test_misreported_usage_is_charged_through_the_real_sdks(provider, retry, reported, text, charged_in, charged_out):
    name, server = provider
    model, client = _client(name, server.url)
    server.push(_misreported(name, reported, text))
    svc = LLMService(model, {name: client}, retry=retry)
    out = svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS)
    rate_in, rate_out = RATES[name]
    assert out.text == text and (out.input_tokens, out.output_tokens) == (charged_in, charged_out)
    assert out.cost_usd == pytest.approx((charged_in * rate_in + charged_out * rate_out) / 1e6)
    assert svc.usage().total.cost_usd == pytest.approx(out.cost_usd) and out.cost_usd >= 0


def test_an_overreport_stops_every_later_call_and_says_so(openai_server, retry):
    openai_server.push(_misreported("openai", 10**9))
    budget = Budget(max_usd=0.05)
    svc = LLMService("openai:gpt-5", {"openai": _client("openai", openai_server.url)[1]}, retry=retry, budget=budget)
    first = svc.complete(MSGS, phase="implement", max_tokens=1000)
    assert first.output_tokens == 10**9 and budget.spent_usd == pytest.approx(10_000.00125)
    for sample in range(3):  # refused at once, every time, before anything is sent
        with pytest.raises(BudgetExceeded) as info:
            svc.complete(MSGS, phase="repair", sample_index=sample, max_tokens=64)
    assert len(openai_server.requests) == 1
    refusal = budget.exhausted
    assert refusal is not None and refusal.limit == "max_usd"
    assert (refusal.spent, refusal.cap) == (pytest.approx(10_000.00125), 0.05) and refusal.remaining < 0
    text = str(info.value)
    assert "$10,000.0012 spent of max_usd=$0.05" in text and "No further LLM call is made" in text
    assert "reported 1,000,000,000 output tokens for max_tokens=1,000" in text
    assert "--max-usd" in text and "--resume" in text


@pytest.mark.parametrize("garbage", [-1, "12", MISSING, math.nan], ids=["negative", "string", "missing", "nan"])
def test_garbage_usage_never_lets_the_spend_pass_the_cap(openai_server, retry, garbage):
    openai_server.push(*[_misreported("openai", garbage)] * 20)
    budget = Budget(max_usd=0.05)
    svc = LLMService("openai:gpt-5", {"openai": _client("openai", openai_server.url)[1]}, retry=retry, budget=budget)
    answers = []
    with pytest.raises(BudgetExceeded, match="Raise --max-usd"):
        for sample in range(20):
            answers.append(svc.complete(MSGS, phase="plan", sample_index=sample, max_tokens=1000))
    # Each call is charged the full max_tokens of output (~$0.0113 in all), so four fit in $0.05
    # and the fifth is never sent.
    assert len(answers) == len(openai_server.requests) == 4
    worst = svc.estimate(MSGS, 1000, "openai:gpt-5").cost_usd
    assert all(a.output_tokens == 1000 and worst - 1e-5 <= a.cost_usd <= worst for a in answers)
    assert budget.spent_usd == pytest.approx(sum(a.cost_usd for a in answers)) and budget.spent_usd <= budget.max_usd
    assert PriceTable().lookup("openai", "gpt-5") is not None
