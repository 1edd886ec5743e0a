"""The Anthropic adapter, driven through the real ``anthropic`` SDK against a fake server."""

from __future__ import annotations

import pytest

from autocomp.llm import (
    AuthenticationError,
    LLMService,
    LLMTimeoutError,
    MalformedResponseError,
    MissingAPIKeyError,
    ModelNotFoundError,
    ServerUnreachableError,
)
from autocomp.llm.anthropic_client import AnthropicClient
from tests.fakes.llm_server import Reply, anthropic_error, anthropic_ok

KEY = "sk-ant-test-0123456789"
CONTEXT = "Trainium architecture notes. " * 50
MSGS = [
    {"role": "system", "content": CONTEXT},
    {"role": "user", "content": "Propose a plan."},
    {"role": "assistant", "content": "Plan: tile by 128."},
    {"role": "user", "content": "Now write the kernel."},
]


def service(url: str, retry, timeout_s: float = 5.0) -> LLMService:
    client = AnthropicClient(api_key=KEY, base_url=url, timeout_s=timeout_s)
    return LLMService("anthropic:claude-haiku-4-5", {"anthropic": client}, retry=retry)


def test_system_goes_top_level_with_prompt_caching(anthropic_server, retry):
    anthropic_server.push(
        Reply(
            200,
            anthropic_ok(
                "kernel", input_tokens=50, output_tokens=400, cache_read=2000, cache_write=0, stop_reason="max_tokens"
            ),
        )
    )
    out = service(anthropic_server.url, retry).complete(
        MSGS, phase="implement", temperature=0.5, max_tokens=400, stop=["</kernel>"]
    )
    (req,) = anthropic_server.requests
    assert req.path == "/v1/messages"
    assert req.body["system"] == [{"type": "text", "text": CONTEXT, "cache_control": {"type": "ephemeral"}}]
    assert [m["role"] for m in req.body["messages"]] == ["user", "assistant", "user"]
    assert req.body["max_tokens"] == 400 and req.body["temperature"] == 0.5
    assert req.body["stop_sequences"] == ["</kernel>"]
    assert (out.text, out.finish_reason) == ("kernel", "length")
    assert (out.input_tokens, out.cached_tokens, out.cache_write_tokens, out.output_tokens) == (2050, 2000, 0, 400)
    # claude-haiku-4-5: $1/M input, $0.10/M cache read, $5/M output
    assert out.cost_usd == pytest.approx((50 * 1 + 2000 * 0.10 + 400 * 5) / 1e6)


def test_cache_writes_are_priced_at_the_write_rate(anthropic_server, retry):
    anthropic_server.push(Reply(200, anthropic_ok(input_tokens=10, output_tokens=2, cache_write=1000)))
    out = service(anthropic_server.url, retry).complete(MSGS, phase="plan")
    assert out.cache_write_tokens == 1000
    assert out.cost_usd == pytest.approx((10 * 1 + 1000 * 1.25 + 2 * 5) / 1e6)


def test_429_and_overloaded_529_are_retried(anthropic_server, retry, sleeps):
    anthropic_server.push(
        anthropic_error(
            429, "rate_limit_error", "Number of requests has exceeded your rate limit", headers={"retry-after": "3"}
        ),
        anthropic_error(529, "overloaded_error", "Overloaded"),
    )
    out = service(anthropic_server.url, retry).complete(MSGS, phase="plan")
    assert out.text == "answer to: Now write the kernel."
    assert sleeps.waits[0] == 3.0 and len(sleeps.waits) == 2
    assert len(anthropic_server.requests) == 3


def test_500_then_success(anthropic_server, retry):
    anthropic_server.push(anthropic_error(500, "api_error", "Internal server error"))
    assert service(anthropic_server.url, retry).complete(MSGS, phase="plan").text
    assert len(anthropic_server.requests) == 2


def test_bad_key_names_the_env_var(anthropic_server, retry, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    anthropic_server.push(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    client = AnthropicClient(base_url=anthropic_server.url)
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY was rejected"):
        LLMService("anthropic:claude-haiku-4-5", {"anthropic": client}, retry=retry).complete(MSGS, phase="p")


def test_unknown_model(anthropic_server, retry):
    anthropic_server.push(anthropic_error(404, "not_found_error", "model: claude-nope"))
    with pytest.raises(ModelNotFoundError, match="'claude-nope' was not found"):
        service(anthropic_server.url, retry).complete(MSGS, phase="plan", model="anthropic:claude-nope")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"type": "message"}, "no content list"),
        ({"content": "not a list", "stop_reason": "end_turn"}, "no content list"),
        ("garbage", "invalid JSON"),
        ('{"content": [{"type": "text", "text": "cut', "invalid JSON"),
    ],
)
def test_malformed_body_is_retried_then_says_what_was_wrong(anthropic_server, retry, sleeps, body, why):
    anthropic_server.push(*[Reply(200, body)] * 3)
    with pytest.raises(MalformedResponseError, match=why) as info:
        service(anthropic_server.url, retry).complete(MSGS, phase="plan")
    assert len(anthropic_server.requests) == 3 and len(sleeps.waits) == 2
    assert "gave up after 3 attempts" in str(info.value)


def test_malformed_body_then_success(anthropic_server, retry):
    anthropic_server.push(Reply(200, "<html>Bad gateway</html>", content_type="text/html"))
    assert service(anthropic_server.url, retry).complete(MSGS, phase="plan").text == "answer to: Now write the kernel."
    assert len(anthropic_server.requests) == 2


def test_timeout(anthropic_server, retry, sleeps):
    retry.max_attempts = 1
    anthropic_server.push(Reply(200, anthropic_ok(), delay_s=2.0))
    with pytest.raises(LLMTimeoutError, match="within 0.3s"):
        service(anthropic_server.url, retry, timeout_s=0.3).complete(MSGS, phase="plan")


def test_unreachable(closed_url, retry):
    url = closed_url.removesuffix("/v1")
    with pytest.raises(ServerUnreachableError, match="Could not connect to anthropic at http://127.0.0.1"):
        service(url, retry).complete(MSGS, phase="plan")


def test_missing_key():
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY is not set"):
        AnthropicClient(env={})
