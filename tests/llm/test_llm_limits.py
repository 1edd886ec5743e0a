"""Answers larger than max_tokens can hold are refused while the body is read, never stored; slow ones time out."""

from __future__ import annotations

import io

import pytest

from autocomp.llm import (
    Budget,
    CallRecord,
    Completion,
    LLMService,
    LLMTimeoutError,
    ResponseCache,
    ResponseTooLargeError,
)
from autocomp.llm.anthropic_client import AnthropicClient
from autocomp.llm.limits import max_answer_chars, max_body_bytes
from autocomp.llm.manual import ManualClient
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import Reply, anthropic_ok, openai_ok

MSGS = [{"role": "user", "content": "write the kernel"}]
MAX_TOKENS = 12_000
THIRTY_MB = "x" * (30 * 1024 * 1024)


def _service(provider: str, server, retry, tmp_path, **kw) -> tuple[LLMService, list[CallRecord]]:
    records: list[CallRecord] = []
    if provider == "openai":
        client = OpenAIClient(api_key="sk-test-limits-00000", base_url=server.url + "/v1", **kw)
        model = "openai:gpt-5"
    else:
        client = AnthropicClient(api_key="sk-ant-test-limits-0000", base_url=server.url, **kw)
        model = "anthropic:claude-haiku-4-5"
    svc = LLMService(model, {provider: client}, retry=retry, cache=ResponseCache(tmp_path / "cache.sqlite"),
                     on_call=records.append, budget=Budget(max_usd=1.0))
    return svc, records


def _ok(provider: str, text: str) -> dict:
    return openai_ok(text) if provider == "openai" else anthropic_ok(text)


@pytest.fixture(params=["openai", "anthropic"])
def provider(request, openai_server, anthropic_server):
    return request.param, openai_server if request.param == "openai" else anthropic_server


def _assert_refused_and_charged(svc: LLMService, records: list[CallRecord], server, err) -> None:
    assert len(server.requests) == 1, "an oversized answer must not be asked for again"
    assert "refused" in str(err.value) and "not stored" in str(err.value) and err.value.billable
    assert len(svc.cache) == 0
    (record,) = records
    assert record.error_type == "ResponseTooLargeError" and record.completion.text == ""
    # The provider ignored max_tokens, so it bills at least max_tokens: the call is charged its worst case.
    worst = svc.estimate(MSGS, MAX_TOKENS, record.provider + ":" + record.model)
    assert record.completion.output_tokens == MAX_TOKENS
    assert svc.budget.spent_usd == pytest.approx(worst.cost_usd) and svc.budget.calls == 1
    total = svc.usage().total
    assert (total.failures, total.calls, total.cost_usd) == (1, 0, pytest.approx(worst.cost_usd))


def test_a_declared_30mb_body_is_refused_before_it_is_read(provider, retry, tmp_path):
    name, server = provider
    svc, records = _service(name, server, retry, tmp_path)
    server.push(Reply(200, _ok(name, THIRTY_MB)))
    with pytest.raises(ResponseTooLargeError, match="declared 31,4") as err:
        svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS)
    _assert_refused_and_charged(svc, records, server, err)


def test_a_streamed_30mb_body_is_cut_off_while_it_is_read(provider, retry, tmp_path):
    name, server = provider
    svc, records = _service(name, server, retry, tmp_path)
    server.push(Reply(200, _ok(name, THIRTY_MB), chunk_size=64 * 1024))
    with pytest.raises(ResponseTooLargeError, match="still coming at") as err:
        svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS)
    _assert_refused_and_charged(svc, records, server, err)
    (write,) = server.wait_for_writes(1)
    # The client hung up long before the end: at most socket buffers' worth past the limit was sent.
    assert max_body_bytes(MAX_TOKENS) < write.sent < write.total // 2


def test_a_gzip_bomb_is_cut_off_while_it_is_decoded(provider, retry, tmp_path):
    name, server = provider
    svc, records = _service(name, server, retry, tmp_path)
    server.push(Reply(200, _ok(name, THIRTY_MB), gzip=True))
    with pytest.raises(ResponseTooLargeError, match="still coming at") as err:
        svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS)
    _assert_refused_and_charged(svc, records, server, err)
    assert server.wait_for_writes(1)[0].total < 100_000  # 30 MB of answer in a small compressed body


def test_a_small_compressed_answer_is_read_and_uncompressed_is_asked_for(provider, retry, tmp_path):
    name, server = provider
    svc, _ = _service(name, server, retry, tmp_path)
    server.push(Reply(200, _ok(name, "def kernel(): pass\n" * 50), gzip=True))
    assert svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS).text == "def kernel(): pass\n" * 50
    assert server.requests[0].headers["accept-encoding"] == "identity"


def test_an_error_body_over_the_limit_is_refused_but_not_charged(openai_server, retry, tmp_path):
    svc, records = _service("openai", openai_server, retry, tmp_path)
    openai_server.push(Reply(500, {"error": {"message": THIRTY_MB}}))
    with pytest.raises(ResponseTooLargeError, match="HTTP 500") as err:
        svc.complete(MSGS, phase="implement", max_tokens=MAX_TOKENS)
    assert not err.value.billable and svc.budget.spent_usd == 0 and svc.budget.calls == 0
    assert records[0].completion is None


def test_an_answer_just_under_the_limit_is_accepted(openai_server, retry, tmp_path):
    svc, _ = _service("openai", openai_server, retry, tmp_path)
    text = "y" * max_answer_chars(1000)
    openai_server.push(Reply(200, openai_ok(text, completion_tokens=1000)))
    out = svc.complete(MSGS, phase="plan", max_tokens=1000)
    assert len(out.text) == len(text) and out.output_tokens == 1000 + 4096 // 8


class _Verbose:
    """A client (any client) whose answer is far longer than max_tokens allows."""

    provider = "vllm"

    def complete(self, messages, *, model, temperature, max_tokens, stop) -> Completion:
        return Completion(text="z" * (max_answer_chars(max_tokens) + 1), finish_reason="stop", input_tokens=1,
                          output_tokens=1, provider="vllm", model=model)


def test_any_clients_answer_over_the_character_cap_is_refused(retry, tmp_path):
    records: list[CallRecord] = []
    cache = ResponseCache(tmp_path / "cache.sqlite")
    svc = LLMService("vllm:m", {"vllm": _Verbose()}, retry=retry, cache=cache, on_call=records.append)
    with pytest.raises(ResponseTooLargeError, match=r"more than max_tokens=100 can hold \(at most 4,896\)"):
        svc.complete(MSGS, phase="implement", max_tokens=100)
    assert len(cache) == 0 and records[0].completion.text == "" and records[0].attempts == 1


def test_a_manual_response_file_too_large_is_not_read(tmp_path, retry):
    client = ManualClient(tmp_path, sleep=lambda s: None, notify=io.StringIO())
    (tmp_path / "1.response.md").write_text("w" * (4 * max_answer_chars(10) + 1))
    with pytest.raises(ResponseTooLargeError, match="it was not read"):
        LLMService("manual:chat", {"manual": client}, retry=retry).complete(MSGS, phase="plan", max_tokens=10)


def test_a_trickling_server_times_out_at_the_llm_timeout(provider, retry, sleeps, tmp_path):
    name, server = provider
    retry.max_attempts = 1
    svc, _ = _service(name, server, retry, tmp_path, timeout_s=0.5)
    # 16 bytes every 50 ms: each read is quick, but the whole body would take over a minute.
    server.push(Reply(200, _ok(name, "t" * 20_000), chunk_size=16, trickle_s=0.05))
    with pytest.raises(LLMTimeoutError, match=r"within 0\.5s.*--llm-timeout"):
        svc.complete(MSGS, phase="plan", max_tokens=MAX_TOKENS)
    (write,) = server.wait_for_writes(1)
    assert write.sent < write.total
