"""The LLMService facade: call log, concurrency limits, construction from settings."""

from __future__ import annotations

import threading
import time

import pytest

from autocomp.llm import (
    CallRecord,
    Completion,
    Ensemble,
    LLMClient,
    LLMConfigError,
    LLMService,
    LLMSettings,
    MissingAPIKeyError,
    ModelNotFoundError,
    ResponseCache,
    build_service,
)
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import openai_error

MSGS = [{"role": "user", "content": "hi"}]


class CountingClient:
    """A provider stand-in that tracks how many calls overlap."""

    provider = "vllm"

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def complete(self, messages, *, model, temperature, max_tokens, stop) -> Completion:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.2)
        with self._lock:
            self.active -= 1
        return Completion(
            text=messages[-1]["content"],
            finish_reason="stop",
            input_tokens=1,
            output_tokens=1,
            provider="vllm",
            model=model,
        )


def test_clients_satisfy_the_protocol():
    assert isinstance(CountingClient(), LLMClient)
    assert isinstance(OpenAIClient(api_key="sk-test-proto-000000"), LLMClient)


def test_concurrency_limit_per_provider(retry):
    client = CountingClient()
    svc = LLMService("vllm:m", {"vllm": client}, retry=retry, concurrency={"vllm": 2})
    threads = [
        threading.Thread(target=svc.complete, args=([{"role": "user", "content": str(i)}],), kwargs={"phase": "plan"})
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.peak == 2 and svc.usage().total.calls == 8


def test_on_call_records_successes_hits_and_failures(openai_server, retry, tmp_path):
    records: list[CallRecord] = []
    client = OpenAIClient(api_key="sk-test-log-0000000", base_url=openai_server.url + "/v1")
    svc = LLMService(
        "openai:gpt-5",
        {"openai": client},
        retry=retry,
        on_call=records.append,
        cache=ResponseCache(tmp_path / "c.sqlite"),
    )
    svc.complete(MSGS, phase="plan", sample_index=2)
    svc.complete(MSGS, phase="plan", sample_index=2)
    openai_server.push(openai_error(404, "no such model"))
    with pytest.raises(ModelNotFoundError):
        svc.complete(MSGS, phase="repair", model="openai:gpt-nope")
    ok, hit, failed = records
    assert ok.completion.text == "answer to: hi" and ok.attempts == 1 and ok.sample_index == 2
    assert hit.completion.cache_hit and hit.cache_key == ok.cache_key
    assert failed.completion is None and failed.error_type == "ModelNotFoundError" and failed.phase == "repair"
    assert failed.model == "gpt-nope" and "gpt-nope" in failed.error


def test_unknown_override_provider_is_a_config_error(retry):
    svc = LLMService("vllm:m", {"vllm": CountingClient()}, retry=retry)
    with pytest.raises(LLMConfigError, match="No client configured for provider 'openai'"):
        svc.complete(MSGS, phase="plan", model="openai:gpt-5")


def test_missing_client_for_ensemble_member():
    with pytest.raises(LLMConfigError, match=r"\['openai'\]"):
        LLMService(Ensemble(["vllm:m", "openai:gpt-5"]), {"vllm": CountingClient()})


@pytest.mark.parametrize("messages", [[], [{"role": "tool", "content": "x"}], [{"role": "user", "content": 3}]])
def test_bad_messages(messages, retry):
    svc = LLMService("vllm:m", {"vllm": CountingClient()}, retry=retry)
    with pytest.raises(ValueError):
        svc.complete(messages, phase="plan")


def test_build_service_fails_fast_without_a_key(tmp_path):
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        build_service(LLMSettings(models=["anthropic:claude-haiku-4-5"]), env={})


def test_build_service_with_an_ensemble_cache_and_budget(openai_server, anthropic_server, tmp_path, sleeps):
    env = {"OPENAI_API_KEY": "sk-test-build-0000", "ANTHROPIC_API_KEY": "sk-ant-test-build-0000"}
    settings = LLMSettings(
        models={"openai:gpt-5": 1, "anthropic:claude-haiku-4-5": 1},
        seed=3,
        base_urls={"openai": openai_server.url + "/v1", "anthropic": anthropic_server.url},
        cache_path=tmp_path / "cache.sqlite",
        max_llm_calls=20,
    )
    svc = build_service(settings, env=env, sleep=sleeps)
    outs = [svc.complete([{"role": "user", "content": f"q{i}"}], phase="plan") for i in range(12)]
    assert {o.provider for o in outs} == {"openai", "anthropic"}
    assert len(openai_server.requests) + len(anthropic_server.requests) == 12
    report = svc.usage()
    assert set(report.by_model) == {"openai:gpt-5", "anthropic:claude-haiku-4-5"}
    assert report.total.calls == 12 and report.total.cost_usd > 0
    svc.close()

    # The same settings replay every answer from the cache, model choice included.
    again = build_service(settings, env=env, sleep=sleeps)
    replay = [again.complete([{"role": "user", "content": f"q{i}"}], phase="plan") for i in range(12)]
    assert [(o.provider, o.text) for o in replay] == [(o.provider, o.text) for o in outs]
    assert all(o.cache_hit for o in replay)
    assert len(openai_server.requests) + len(anthropic_server.requests) == 12


def test_manual_needs_a_directory():
    with pytest.raises(LLMConfigError, match="manual_dir"):
        build_service(LLMSettings(models=["manual:chat"]), env={})


def test_base_url_reaches_a_sole_provider_but_not_the_wrong_one():
    alone = LLMSettings(models=["openai:gpt-5"], base_url="http://proxy/v1")
    assert alone.base_url_for("openai") == "http://proxy/v1"
    mixed = LLMSettings(
        models=["anthropic:claude-haiku-4-5", "vllm:q"],
        base_url="http://gpu:8000/v1",
        base_urls={"anthropic": "http://gateway"},
    )
    assert mixed.base_url_for("vllm") == "http://gpu:8000/v1"
    assert mixed.base_url_for("anthropic") == "http://gateway"
    assert LLMSettings(models=["openai:gpt-5", "vllm:q"], base_url="http://gpu/v1").base_url_for("openai") is None
