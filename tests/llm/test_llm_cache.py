"""The response cache: hits make no request, samples stay apart, re-runs replay."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from autocomp.llm import Completion, LLMService, ResponseCache, request_key
from autocomp.llm.openai_client import OpenAIClient
from tests.fakes.llm_server import Reply, openai_ok

MSGS = [{"role": "system", "content": "ctx"}, {"role": "user", "content": "optimise matmul"}]


def make(url: str, retry, cache: ResponseCache, **kw) -> LLMService:
    client = OpenAIClient(api_key="sk-test-cache-000000", base_url=url + "/v1")
    return LLMService("openai:gpt-5", {"openai": client}, retry=retry, cache=cache, **kw)


def test_hit_makes_no_request_and_costs_nothing(openai_server, retry, tmp_path):
    openai_server.push(Reply(200, openai_ok("v1", prompt_tokens=500, completion_tokens=70)))
    svc = make(openai_server.url, retry, ResponseCache(tmp_path / "cache.sqlite"))
    first = svc.complete(MSGS, phase="plan", temperature=0.8, max_tokens=300)
    second = svc.complete(MSGS, phase="plan", temperature=0.8, max_tokens=300)
    assert len(openai_server.requests) == 1
    assert second.cache_hit and not first.cache_hit
    assert second.text == "v1" and (second.input_tokens, second.output_tokens) == (500, 70)
    assert second.cost_usd == 0.0 and first.cost_usd > 0
    total = svc.usage().total
    assert (total.calls, total.cache_hits, total.cost_usd) == (1, 1, first.cost_usd)


def test_samples_are_distinct_and_replay_on_rerun(openai_server, retry, tmp_path):
    path = tmp_path / "cache.sqlite"
    openai_server.push(*[Reply(200, openai_ok(f"sample {i}")) for i in range(3)])
    svc = make(openai_server.url, retry, ResponseCache(path))
    first = [svc.complete(MSGS, phase="plan", sample_index=i, temperature=1.0).text for i in range(3)]
    svc.close()
    assert first == ["sample 0", "sample 1", "sample 2"] and len(openai_server.requests) == 3

    rerun = make(openai_server.url, retry, ResponseCache(path))
    again = [rerun.complete(MSGS, phase="plan", sample_index=i, temperature=1.0) for i in range(3)]
    assert [c.text for c in again] == first and all(c.cache_hit for c in again)
    assert len(openai_server.requests) == 3


def test_no_cache_skips_reads_but_still_writes(openai_server, retry, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    openai_server.push(Reply(200, openai_ok("old")), Reply(200, openai_ok("new")))
    make(openai_server.url, retry, cache).complete(MSGS, phase="plan")
    fresh = make(openai_server.url, retry, cache, no_cache=True).complete(MSGS, phase="plan")
    assert fresh.text == "new" and not fresh.cache_hit and len(openai_server.requests) == 2
    replay = make(openai_server.url, retry, cache).complete(MSGS, phase="plan")
    assert replay.text == "new" and replay.cache_hit and len(openai_server.requests) == 2


def test_every_sampling_input_changes_the_key():
    base = dict(temperature=0.5, max_tokens=100, stop=None, sample_index=0)
    key = request_key("openai", "gpt-5", MSGS, **base)
    variants = [
        request_key("vllm", "gpt-5", MSGS, **base),
        request_key("openai", "gpt-5-mini", MSGS, **base),
        request_key("openai", "gpt-5", MSGS[1:], **base),
        request_key("openai", "gpt-5", MSGS, **{**base, "temperature": 0.6}),
        request_key("openai", "gpt-5", MSGS, **{**base, "max_tokens": 101}),
        request_key("openai", "gpt-5", MSGS, **{**base, "stop": ["x"]}),
        request_key("openai", "gpt-5", MSGS, **{**base, "sample_index": 1}),
    ]
    assert len({key, *variants}) == 8


def test_key_is_canonical():
    reordered = [{"content": m["content"], "role": m["role"]} for m in MSGS]
    a = request_key("openai", "m", MSGS, temperature=0, max_tokens=5, stop=None, sample_index=0)
    b = request_key("openai", "m", reordered, temperature=0.0, max_tokens=5, stop=[], sample_index=0)
    assert a == b and len(a) == 64


def test_wal_mode_and_concurrent_use(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"

    def work(i: int) -> None:
        for j in range(20):
            c = Completion(
                text=f"{i}-{j}", finish_reason="stop", input_tokens=1, output_tokens=1, provider="openai", model="m"
            )
            cache.put(f"k{i}-{j}", c)
            assert cache.get(f"k{i}-{j}") == c

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 160


def test_miss_returns_none(tmp_path):
    assert ResponseCache(tmp_path / "c.sqlite").get("nope") is None


@pytest.mark.parametrize("sample_index", [0, 3])
def test_routing_and_cache_are_stable_per_sample(openai_server, retry, tmp_path, sample_index):
    svc = make(openai_server.url, retry, ResponseCache(tmp_path / "c.sqlite"))
    a = svc.complete(MSGS, phase="plan", sample_index=sample_index)
    b = svc.complete(MSGS, phase="plan", sample_index=sample_index)
    assert a.text == b.text and b.cache_hit


class _Answers:
    """A client answering from a list of (text, finish_reason), then failing."""

    provider = "vllm"

    def __init__(self, *answers: tuple[str, str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def complete(self, messages, *, model, temperature, max_tokens, stop) -> Completion:
        self.calls += 1
        if not self.answers:
            from autocomp.llm import ServerError

            raise ServerError("down")
        text, finish = self.answers.pop(0)
        return Completion(text=text, finish_reason=finish, input_tokens=10, output_tokens=10, provider="vllm",
                          model=model)


KERNEL = "```python\n@nki.jit\ndef kernel(a):\n    return a\n```"


@pytest.mark.parametrize(
    ("text", "finish", "expects_code"),
    [
        ("", "stop", False),
        ("   \n", "stop", False),
        (KERNEL[:20], "length", True),  # cut off at max_tokens (OpenAI's finish_reason)
        ("Use bigger tiles and", "length", False),
        ("I'm sorry, I can't help with that.", "content_filter", False),
        ("I would use bigger tiles.", "stop", True),  # no code where code was asked for
    ],
    ids=["empty", "blank", "truncated-code", "truncated-plan", "filtered", "no-code"],
)
def test_unusable_answers_are_never_cached(retry, tmp_path, text, finish, expects_code):
    cache = ResponseCache(tmp_path / "c.sqlite")
    client = _Answers((text, finish), (KERNEL, "stop"))
    svc = LLMService("vllm:m", {"vllm": client}, retry=retry, cache=cache)
    first = svc.complete(MSGS, phase="implement", expects_code=expects_code)
    assert (first.text, first.finish_reason) == (text, finish) and len(cache) == 0
    again = svc.complete(MSGS, phase="implement", expects_code=expects_code)  # asked again, not replayed
    assert again.text == KERNEL and not again.cache_hit and client.calls == 2 and len(cache) == 1
    assert svc.complete(MSGS, phase="implement", expects_code=expects_code).cache_hit


def test_a_truncated_anthropic_answer_is_not_cached(anthropic_server, retry, tmp_path):
    from autocomp.llm.anthropic_client import AnthropicClient
    from tests.fakes.llm_server import anthropic_ok

    anthropic_server.push(Reply(200, anthropic_ok("def kernel(a):\n    ret", stop_reason="max_tokens")))
    client = AnthropicClient(api_key="sk-ant-test-cache-000", base_url=anthropic_server.url)
    cache = ResponseCache(tmp_path / "c.sqlite")
    svc = LLMService("anthropic:claude-haiku-4-5", {"anthropic": client}, retry=retry, cache=cache)
    assert svc.complete(MSGS, phase="implement", max_tokens=10).finish_reason == "length"
    assert len(cache) == 0


def test_failed_calls_are_not_cached(retry, tmp_path):
    from autocomp.llm import ServerError

    cache = ResponseCache(tmp_path / "c.sqlite")
    svc = LLMService("vllm:m", {"vllm": _Answers()}, retry=retry, cache=cache)
    with pytest.raises(ServerError):
        svc.complete(MSGS, phase="plan")
    assert len(cache) == 0
