"""Broken bodies and broken connections are transient: retried with backoff, and the last error says what broke."""

from __future__ import annotations

import pytest

from autocomp.llm import LLMService, MalformedResponseError, ServerUnreachableError
from autocomp.llm.anthropic_client import AnthropicClient
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import Reply, anthropic_ok, openai_ok

MSGS = [{"role": "user", "content": "tile it"}]


@pytest.fixture(params=["openai", "anthropic"])
def provider(request, openai_server, anthropic_server):
    if request.param == "openai":
        client = OpenAIClient(api_key="sk-test-transient-000", base_url=openai_server.url + "/v1")
        return "openai:gpt-5", {"openai": client}, openai_server, openai_ok("never read")
    client = AnthropicClient(api_key="sk-ant-test-transient-0", base_url=anthropic_server.url)
    return "anthropic:claude-haiku-4-5", {"anthropic": client}, anthropic_server, anthropic_ok("never read")


BREAKAGES = {
    "truncated body": (lambda ok: Reply(200, ok, truncate_to=40), MalformedResponseError,
                       r"truncated or invalid HTTP response \(peer closed connection"),
    "connection reset": (lambda ok: Reply(200, ok, reset=True), ServerUnreachableError, "was reset mid-request"),
    "malformed JSON": (lambda ok: Reply(200, '{"id": "x", "choices": [{'), MalformedResponseError, "invalid JSON"),
    "HTML page with 200": (lambda ok: Reply(200, "<html><body>502 Bad Gateway</body></html>",
                                            content_type="text/html"), MalformedResponseError, "not JSON"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_broken_answer_is_retried_and_the_retry_succeeds(provider, retry, sleeps, breakage):
    model, clients, server, ok = provider
    make, _, _ = BREAKAGES[breakage]
    server.push(make(ok))
    out = LLMService(model, clients, retry=retry).complete(MSGS, phase="plan")
    assert out.text == "answer to: tile it"
    assert len(server.requests) == 2 and len(sleeps.waits) == 1


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_persistent_breakage_gives_up_after_the_policy_and_names_it(provider, retry, sleeps, breakage):
    model, clients, server, ok = provider
    make, kind, why = BREAKAGES[breakage]
    server.push(*[make(ok)] * 3)
    records = []
    svc = LLMService(model, clients, retry=retry, on_call=records.append)
    with pytest.raises(kind, match=why) as info:
        svc.complete(MSGS, phase="plan")
    assert info.value.attempts == 3 and str(info.value).endswith("(gave up after 3 attempts)")
    assert len(server.requests) == 3 and len(sleeps.waits) == 2
    # Backoff doubles: base 1 s, jitter takes off at most half.
    assert 0.5 <= sleeps.waits[0] <= 1.0 and 1.0 <= sleeps.waits[1] <= 2.0
    assert records[0].attempts == 3 and records[0].completion is None
    assert svc.budget.spent_usd == 0 and svc.usage().total.failures == 1
