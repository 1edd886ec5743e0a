"""Model names and the seeded ensemble."""

from __future__ import annotations

from collections import Counter

import pytest

from autocomp.llm import Ensemble, LLMConfigError, ModelSpec, UnknownProviderError, parse_model_spec


def test_parse_model_spec():
    assert parse_model_spec("anthropic:claude-sonnet-4-5") == ModelSpec("anthropic", "claude-sonnet-4-5")
    assert parse_model_spec("ollama:qwen3:8b").model == "qwen3:8b"
    assert parse_model_spec("vllm:qwen3-coder").info.default_base_url == "http://localhost:8000/v1"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openia:gpt-5", "Did you mean 'openai'"),
        ("gpt-5", "no provider prefix"),
        ("bedrock:claude", "Known providers: anthropic, lmstudio, manual, ollama, openai, openai-compatible, vllm"),
    ],
)
def test_unknown_provider_is_a_clear_error(spec, message):
    with pytest.raises(UnknownProviderError, match=message):
        parse_model_spec(spec)


def test_empty_model_name():
    with pytest.raises(LLMConfigError, match="names no model"):
        parse_model_spec("openai:")


def test_same_seed_same_sequence():
    members = {"openai:gpt-5": 2.0, "anthropic:claude-sonnet-4-5": 1.0, "vllm:qwen": 1.0}
    a, b = Ensemble(members, seed=7), Ensemble(members, seed=7)
    seq_a = [a.choose().id for _ in range(50)]
    assert seq_a == [b.choose().id for _ in range(50)]
    assert seq_a != [Ensemble(members, seed=8).choose().id for _ in range(50)]


def test_keyed_choice_does_not_depend_on_call_order():
    e = Ensemble(["openai:gpt-5", "vllm:qwen"], seed=1)
    keys = [f"prompt-{i}" for i in range(30)]
    forward = {k: e.choose(k) for k in keys}
    backward = {k: Ensemble(["openai:gpt-5", "vllm:qwen"], seed=1).choose(k) for k in reversed(keys)}
    assert forward == backward and len(set(forward.values())) == 2


def test_weights_are_respected():
    e = Ensemble({"openai:gpt-5": 9, "vllm:qwen": 1}, seed=0)
    counts = Counter(e.choose().id for _ in range(2000))
    assert 0.85 < counts["openai:gpt-5"] / 2000 < 0.95
    assert e.shares() == {"openai:gpt-5": 0.9, "vllm:qwen": 0.1}


def test_zero_weight_is_never_picked():
    e = Ensemble({"openai:gpt-5": 1, "vllm:qwen": 0}, seed=3)
    assert {e.choose(str(i)).id for i in range(200)} == {"openai:gpt-5"}


@pytest.mark.parametrize("members", [[], {"openai:gpt-5": -1}, {"openai:gpt-5": 0}])
def test_bad_ensembles(members):
    with pytest.raises(LLMConfigError):
        Ensemble(members)
