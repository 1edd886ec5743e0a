"""Price table and per-phase / per-model / total accounting."""

from __future__ import annotations

import logging

import pytest

from autocomp.llm import Completion, Ledger, LLMConfigError, Price, PriceTable


def completion(provider="openai", model="gpt-5", *, cost=0.0, hit=False, **tokens) -> Completion:
    base = dict(input_tokens=100, output_tokens=10)
    return Completion(
        text="t",
        finish_reason="stop",
        provider=provider,
        model=model,
        cost_usd=cost,
        cache_hit=hit,
        **{**base, **tokens},
    )


def test_snapshot_names_share_the_base_price():
    table = PriceTable()
    assert table.lookup("anthropic", "claude-sonnet-4-5-20250929") == table.lookup("anthropic", "claude-sonnet-4-5")
    assert table.lookup("openai", "gpt-4o-2024-08-06") == table.lookup("openai", "gpt-4o")
    # a different model must not inherit a price by prefix
    assert table.lookup("openai", "gpt-5-pro") is None


def test_local_providers_are_free_unless_priced():
    table = PriceTable({"openai-compatible:llama-70b": {"input": 0.5, "output": 0.8}})
    assert table.lookup("vllm", "anything").cost(10**6, 10**6) == 0.0
    assert table.lookup("openai-compatible", "llama-70b") == Price(0.5, 0.8)


def test_overrides_replace_defaults():
    table = PriceTable({"openai:gpt-5": {"input": 2.0, "output": 20.0, "cached_input": 0.2}})
    assert table.cost(completion(input_tokens=1000, cached_tokens=500, output_tokens=100)) == pytest.approx(
        (500 * 2.0 + 500 * 0.2 + 100 * 20.0) / 1e6
    )


@pytest.mark.parametrize(
    "bad", [{"input": 1.0}, {"input": 1, "output": 2, "cahced_input": 1}, {"input": "cheap", "output": 1}]
)
def test_bad_override_names_the_model(bad):
    with pytest.raises(LLMConfigError, match="openai:gpt-5"):
        PriceTable({"openai:gpt-5": bad})


def test_unknown_model_costs_zero_and_warns_once(caplog):
    table = PriceTable()
    with caplog.at_level(logging.WARNING, logger="autocomp.llm"):
        assert table.cost(completion(model="gpt-99")) == 0.0
        assert table.cost(completion(model="gpt-99")) == 0.0
    warnings = [r for r in caplog.records if "gpt-99" in r.getMessage()]
    assert len(warnings) == 1
    assert '[llm.prices] "openai:gpt-99"' in warnings[0].getMessage()


def test_ledger_sums_per_phase_model_and_total():
    ledger = Ledger()
    ledger.record("plan", completion(cost=0.01))
    ledger.record("plan", completion("anthropic", "claude-haiku-4-5", cost=0.02, cached_tokens=50))
    ledger.record("implement", completion(cost=0.03, output_tokens=500))
    ledger.record("implement", completion(cost=0.0, hit=True))
    ledger.record_failure("repair", "openai:gpt-5")
    report = ledger.report()
    assert report.total.calls == 3 and report.total.cache_hits == 1 and report.total.failures == 1
    assert report.total.cost_usd == pytest.approx(0.06)
    assert report.total.output_tokens == 10 + 10 + 500 and report.total.cached_tokens == 50
    assert report.by_phase["plan"].cost_usd == pytest.approx(0.03)
    assert report.by_phase["implement"].calls == 1 and report.by_phase["implement"].cache_hits == 1
    assert report.by_phase["repair"].failures == 1
    assert report.by_model["openai:gpt-5"].cost_usd == pytest.approx(0.04)
    assert report.by_model["anthropic:claude-haiku-4-5"].calls == 1
    assert "by_phase" in report.model_dump_json()
