"""API keys never reach logs, exceptions, reprs, the cache or any file, even when servers echo them."""

from __future__ import annotations

import json
import logging
import traceback

import pytest

from autocomp.llm import Budget, BudgetExceeded, LLMError, LLMSettings, build_service
from autocomp.llm.openai_client import OpenAIClient
from autocomp.llm.redact import REDACTED, scrub
from tests.fakes.llm_server import Reply, anthropic_error, openai_error

SECRET = "SECRET123"
OPENAI_KEY = f"sk-test-{SECRET}"
ANTHROPIC_KEY = f"sk-ant-test-{SECRET}-a"
LOCAL_KEY = f"local-{SECRET}-token"
MSGS = [{"role": "system", "content": "ctx"}, {"role": "user", "content": "go"}]


def test_scrub_removes_registered_and_key_shaped_strings():
    from autocomp.llm.redact import register_secret

    register_secret("hunter2-is-my-password")
    text = scrub("pw hunter2-is-my-password, Authorization: Bearer abcdefghijkl, sk-live-abcdefgh12345")
    assert "hunter2" not in text and "abcdefghijkl" not in text and "sk-live" not in text
    assert text.count(REDACTED) == 3


def test_no_key_anywhere(openai_server, anthropic_server, closed_url, tmp_path, monkeypatch, sleeps):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    log_file = tmp_path / "llm.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # SDK and HTTP-library debug logs included

    calls_log = (tmp_path / "calls.jsonl").open("w")
    settings = LLMSettings(
        models={"openai:gpt-5": 1, "anthropic:claude-haiku-4-5": 1, "vllm:qwen": 1},
        base_urls={
            "openai": openai_server.url + "/v1",
            "anthropic": anthropic_server.url,
            "vllm": openai_server.url + "/v1",
        },
        api_key=LOCAL_KEY,
        cache_path=tmp_path / "cache.sqlite",
        max_attempts=2,
        timeout_s=3.0,
    )
    (tmp_path / "config.json").write_text(settings.model_dump_json())
    errors: list[BaseException] = []
    try:
        svc = build_service(
            settings, env=None, sleep=sleeps, on_call=lambda r: calls_log.write(r.model_dump_json() + "\n")
        )
        echo = f"Authorization: Bearer {OPENAI_KEY}; x-api-key: {ANTHROPIC_KEY}; key {LOCAL_KEY}"
        openai_server.push(
            openai_error(401, f"Incorrect API key provided: {OPENAI_KEY}. {echo}"),
            openai_error(500, f"upstream failed, headers were {echo}", type_="server_error"),
            openai_error(500, f"again {echo}", type_="server_error"),
            *[Reply(200, f"<html>{echo}</html>", content_type="text/html")] * 2,  # retried once, as transient
            openai_error(404, f"no model; you sent {echo}"),
            openai_error(429, f"slow down {echo}", headers={"retry-after": "99999"}),
            Reply(200, {}, delay_s=30.0),
            Reply(200, {}, delay_s=30.0),
        )
        anthropic_server.push(
            anthropic_error(401, "authentication_error", f"invalid x-api-key {ANTHROPIC_KEY} {echo}"),
            anthropic_error(400, "invalid_request_error", f"bad request {echo}"),
            *[Reply(200, f"not json {echo}")] * 2,
        )
        failing = [("openai:gpt-5", 7), ("vllm:qwen", 1), ("anthropic:claude-haiku-4-5", 3)]
        for model, n in failing:
            for i in range(n):
                try:
                    svc.complete(MSGS, phase="plan", sample_index=i, model=model)
                except LLMError as err:
                    errors.append(err)
        for i in range(4):  # successes fill the cache
            svc.complete([{"role": "user", "content": f"ok {i}"}], phase="implement")
        svc.complete(MSGS, phase="plan", model="openai:gpt-5", sample_index=50)
        svc.budget = Budget(max_llm_calls=0)
        try:
            svc.complete(MSGS, phase="plan", sample_index=99)
        except BudgetExceeded as err:
            errors.append(err)
        texts = [repr(svc), repr(svc.clients), repr(settings), repr(svc.budget), svc.usage().model_dump_json()]
        try:  # a closed port, for the connection-error path
            OpenAIClient(base_url=closed_url, timeout_s=0.3).complete(
                MSGS, model="gpt-5", temperature=None, max_tokens=5, stop=None
            )
        except LLMError as err:
            errors.append(err)
    finally:
        calls_log.close()
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    kinds = {type(e).__name__ for e in errors}
    assert {
        "AuthenticationError",
        "ServerError",
        "MalformedResponseError",
        "ModelNotFoundError",
        "RateLimitError",
        "LLMTimeoutError",
        "BadRequestError",
        "BudgetExceeded",
        "ServerUnreachableError",
    } <= kinds
    for err in errors:
        texts += [str(err), repr(err), "".join(traceback.format_exception(err))]
        texts += [str(getattr(err, "message", ""))]
    leaked = [t for t in texts if SECRET in t]
    assert not leaked, leaked[0]

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"cache.sqlite", "calls.jsonl", "llm.log", "config.json"} <= {p.name for p in files}
    assert any(json.loads(line)["error"] for line in (tmp_path / "calls.jsonl").read_text().splitlines())
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"{path.name} leaks the key"
    svc.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"{path.name} leaks the key"


@pytest.mark.parametrize("key", [OPENAI_KEY, ANTHROPIC_KEY])
def test_error_messages_are_scrubbed_on_construction(key):
    from autocomp.llm.redact import register_secret

    register_secret(key)
    assert SECRET not in str(LLMError(f"server said {key}"))
