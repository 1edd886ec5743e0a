from __future__ import annotations

import random
import socket

import pytest

from autocomp.llm import RetryPolicy
from tests.fakes.llm_server import FakeLLMServer, SleepRecorder, echo_anthropic, echo_openai


@pytest.fixture
def openai_server():
    with FakeLLMServer(echo_openai) as server:
        yield server


@pytest.fixture
def anthropic_server():
    with FakeLLMServer(echo_anthropic) as server:
        yield server


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def retry(sleeps: SleepRecorder) -> RetryPolicy:
    return RetryPolicy(max_attempts=3, sleep=sleeps, rng=random.Random(0))


@pytest.fixture
def closed_url() -> str:
    """A loopback URL nothing listens on: the port was bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the keys and URLs they set themselves."""
    for name in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "VLLM_API_KEY",
        "VLLM_BASE_URL",
        "OLLAMA_API_KEY",
        "OLLAMA_BASE_URL",
    ]:
        monkeypatch.delenv(name, raising=False)
