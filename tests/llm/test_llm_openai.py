"""The OpenAI adapter, driven through the real ``openai`` SDK against a fake server."""

from __future__ import annotations

import pytest

from autocomp.llm import (
    AuthenticationError,
    BadRequestError,
    LLMService,
    LLMTimeoutError,
    MalformedResponseError,
    MissingAPIKeyError,
    ModelNotFoundError,
    RateLimitError,
    ServerError,
    ServerUnreachableError,
)
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import Reply, openai_error, openai_ok

KEY = "sk-test-openai-0123456789"
MSGS = [{"role": "system", "content": "You write NKI kernels."}, {"role": "user", "content": "tile it"}]


def service(url: str, retry, timeout_s: float = 5.0) -> LLMService:
    client = OpenAIClient(api_key=KEY, base_url=url, timeout_s=timeout_s)
    return LLMService("openai:gpt-5", {"openai": client}, retry=retry)


def test_success_sends_the_chat_and_normalises_the_answer(openai_server, retry):
    openai_server.push(
        Reply(
            200,
            openai_ok(
                "use nl.tile", prompt_tokens=1000, completion_tokens=50, cached_tokens=800, finish_reason="length"
            ),
        )
    )
    svc = service(openai_server.url + "/v1", retry)
    out = svc.complete(MSGS, phase="plan", temperature=0.7, max_tokens=256, stop=["###"])

    (req,) = openai_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["model"] == "gpt-5"
    assert req.body["messages"] == MSGS
    assert req.body["max_completion_tokens"] == 256 and "max_tokens" not in req.body
    assert req.body["temperature"] == 0.7 and req.body["stop"] == ["###"]
    assert (out.text, out.finish_reason, out.provider, out.model) == ("use nl.tile", "length", "openai", "gpt-5")
    assert (out.input_tokens, out.output_tokens, out.cached_tokens) == (1000, 50, 800)
    assert not out.cache_hit and out.latency_s > 0
    # gpt-5: $1.25/M input, $0.125/M cached input, $10/M output
    assert out.cost_usd == pytest.approx((200 * 1.25 + 800 * 0.125 + 50 * 10) / 1e6)


def test_temperature_left_unset_is_not_sent(openai_server, retry):
    service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert "temperature" not in openai_server.requests[0].body


def test_429_waits_for_retry_after_then_succeeds(openai_server, retry, sleeps):
    openai_server.push(openai_error(429, "Rate limit reached", type_="requests", headers={"retry-after": "7"}))
    out = service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert out.text == "answer to: tile it"
    assert sleeps.waits == [7.0]
    assert len(openai_server.requests) == 2


def test_500_is_retried_with_backoff(openai_server, retry, sleeps):
    openai_server.push(
        openai_error(500, "The server had an error", type_="server_error"),
        openai_error(503, "Overloaded", type_="server_error"),
    )
    out = service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert out.text == "answer to: tile it"
    assert len(openai_server.requests) == 3
    # base 1 s doubling, jitter takes off at most half
    assert 0.5 <= sleeps.waits[0] <= 1.0 and 1.0 <= sleeps.waits[1] <= 2.0


def test_persistent_5xx_gives_up_after_max_attempts(openai_server, retry, sleeps):
    openai_server.push(*[openai_error(502, "Bad gateway", type_="server_error")] * 3)
    with pytest.raises(ServerError) as info:
        service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert info.value.attempts == 3 and "gave up after 3 attempts" in str(info.value)
    assert len(openai_server.requests) == 3 and len(sleeps.waits) == 2


def test_retry_after_longer_than_the_cap_fails_at_once(openai_server, retry, sleeps):
    openai_server.push(openai_error(429, "Daily quota", headers={"retry-after": "86400"}))
    with pytest.raises(RateLimitError):
        service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert sleeps.waits == [] and len(openai_server.requests) == 1


def test_timeout_is_retried(openai_server, retry, sleeps):
    openai_server.push(Reply(200, openai_ok("late"), delay_s=30.0))
    out = service(openai_server.url + "/v1", retry, timeout_s=3.0).complete(MSGS, phase="plan")
    assert out.text == "answer to: tile it"
    assert len(sleeps.waits) == 1


def test_timeout_error_names_the_limit(openai_server, retry):
    retry.max_attempts = 1
    openai_server.push(Reply(200, openai_ok("late"), delay_s=2.0))
    with pytest.raises(LLMTimeoutError, match=r"did not answer within 0\.3s"):
        service(openai_server.url + "/v1", retry, timeout_s=0.3).complete(MSGS, phase="plan")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(200, "<html>502 proxy error</html>", content_type="text/html"), "not JSON but text starting '<html>"),
        (Reply(200, {"object": "chat.completion", "choices": []}), "no choices"),
        (Reply(200, {"unexpected": True}), "no choices"),
        (Reply(200, '{"choices": [{"index": 0, "message": {"content": "def k'), "invalid JSON"),
    ],
)
def test_malformed_body_is_retried_then_says_what_was_wrong(openai_server, retry, sleeps, reply, why):
    openai_server.push(*[reply] * 3)
    with pytest.raises(MalformedResponseError, match=why) as info:
        service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan")
    assert "malformed response" in str(info.value) and "gave up after 3 attempts" in str(info.value)
    assert len(openai_server.requests) == 3 and len(sleeps.waits) == 2


def test_html_page_with_200_then_success(openai_server, retry):
    openai_server.push(Reply(200, "<html>502 proxy error</html>", content_type="text/html"))
    assert service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan").text == "answer to: tile it"
    assert len(openai_server.requests) == 2


def test_bad_key_names_the_env_var(openai_server, retry, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    openai_server.push(openai_error(401, "Incorrect API key provided.", code="invalid_api_key"))
    client = OpenAIClient(base_url=openai_server.url + "/v1")
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY was rejected"):
        LLMService("openai:gpt-5", {"openai": client}, retry=retry).complete(MSGS, phase="plan")
    assert len(openai_server.requests) == 1


def test_unknown_model_names_the_model(openai_server, retry):
    openai_server.push(openai_error(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(ModelNotFoundError, match="'gpt-9' was not found"):
        service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan", model="openai:gpt-9")


def test_bad_request_is_not_retried_and_hints_at_temperature(openai_server, retry):
    openai_server.push(openai_error(400, "Unsupported value: 'temperature' does not support 0.2"))
    with pytest.raises(BadRequestError, match="leave temperature unset"):
        service(openai_server.url + "/v1", retry).complete(MSGS, phase="plan", temperature=0.2)
    assert len(openai_server.requests) == 1


def test_unreachable_server_names_the_url(closed_url, retry, sleeps):
    with pytest.raises(ServerUnreachableError) as info:
        service(closed_url, retry).complete(MSGS, phase="plan")
    assert closed_url in str(info.value) and "OPENAI_BASE_URL" in str(info.value)
    assert info.value.attempts == 3 and len(sleeps.waits) == 2


def test_missing_key_fails_at_construction():
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY is not set"):
        OpenAIClient(env={})


def test_base_url_comes_from_env(openai_server, retry, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url + "/v1")
    client = OpenAIClient()
    assert LLMService("openai:gpt-5", {"openai": client}, retry=retry).complete(MSGS, phase="p").text
    assert len(openai_server.requests) == 1
