"""vLLM / Ollama / LM Studio through the OpenAI SDK with an explicit base URL."""

from __future__ import annotations

import pytest

from autocomp.llm import (
    AuthenticationError,
    LLMConfigError,
    LLMService,
    LLMSettings,
    ServerUnreachableError,
    build_service,
)
from autocomp.llm.openai_compatible import OpenAICompatibleClient
from tests.fakes.llm_server import openai_error

MSGS = [{"role": "user", "content": "write a kernel"}]


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("vllm", "http://localhost:8000/v1"),
        ("ollama", "http://localhost:11434/v1"),
        ("lmstudio", "http://localhost:1234/v1"),
        ("openai-compatible", "http://localhost:8000/v1"),
    ],
)
def test_each_local_provider_has_its_default_url(provider, url):
    assert OpenAICompatibleClient(provider, env={}).endpoint.base_url == url


def test_no_key_sends_a_dummy_and_uses_max_tokens(openai_server, retry):
    client = OpenAICompatibleClient("vllm", base_url=openai_server.url + "/v1", env={})
    out = LLMService("vllm:qwen3-coder", {"vllm": client}, retry=retry).complete(MSGS, phase="plan", max_tokens=100)
    req = openai_server.requests[0]
    assert req.headers["authorization"] == "Bearer EMPTY"
    assert req.body["max_tokens"] == 100 and "max_completion_tokens" not in req.body
    assert req.body["model"] == "qwen3-coder"
    assert (out.provider, out.cost_usd) == ("vllm", 0.0)


def test_openai_key_is_never_sent_to_a_local_server(openai_server, retry):
    env = {
        "OPENAI_API_KEY": "sk-real-openai-key-123",
        "OLLAMA_API_KEY": "ollama-key-456",
        "OLLAMA_BASE_URL": openai_server.url + "/v1",
    }
    client = OpenAICompatibleClient("ollama", env=env)
    LLMService("ollama:qwen3:8b", {"ollama": client}, retry=retry).complete(MSGS, phase="plan")
    req = openai_server.requests[0]
    assert req.headers["authorization"] == "Bearer ollama-key-456"
    assert req.body["model"] == "qwen3:8b"


def test_unreachable_local_server_suggests_starting_it(closed_url, retry):
    retry.max_attempts = 1
    client = OpenAICompatibleClient("vllm", base_url=closed_url, env={})
    with pytest.raises(ServerUnreachableError) as info:
        LLMService("vllm:m", {"vllm": client}, retry=retry).complete(MSGS, phase="plan")
    text = str(info.value)
    assert closed_url in text and "server is running" in text and "--llm-base-url" in text


def test_rejected_explicit_key_points_at_the_setting(openai_server, retry):
    openai_server.push(openai_error(401, "bad token"))
    client = OpenAICompatibleClient("vllm", base_url=openai_server.url + "/v1", api_key="local-token-123", env={})
    with pytest.raises(AuthenticationError, match=r"api_key of the LLM settings\) was rejected.*set VLLM_API_KEY"):
        LLMService("vllm:m", {"vllm": client}, retry=retry).complete(MSGS, phase="plan")


def test_not_a_compatible_provider():
    with pytest.raises(LLMConfigError, match="not an OpenAI-compatible provider"):
        OpenAICompatibleClient("anthropic", env={})


def test_build_service_wires_base_url_and_key(openai_server, sleeps):
    settings = LLMSettings(models=["vllm:qwen3-coder"], base_url=openai_server.url + "/v1", api_key="local-token-789")
    svc = build_service(settings, env={}, sleep=sleeps)
    assert svc.complete(MSGS, phase="plan").text == "answer to: write a kernel"
    assert openai_server.requests[0].headers["authorization"] == "Bearer local-token-789"
    assert "local-token-789" not in repr(settings) and "local-token-789" not in settings.model_dump_json()


def test_server_wanting_a_key_says_how_to_pass_one(openai_server, retry):
    openai_server.push(openai_error(401, "missing token"))
    client = OpenAICompatibleClient("lmstudio", base_url=openai_server.url + "/v1", env={})
    with pytest.raises(AuthenticationError, match="wants an API key.*Set LMSTUDIO_API_KEY=<your key>"):
        LLMService("lmstudio:m", {"lmstudio": client}, retry=retry).complete(MSGS, phase="plan")
