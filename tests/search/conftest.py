from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.search import FakeEvaluator, write_problem

PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "VLLM_API_KEY",
                "VLLM_BASE_URL", "OLLAMA_API_KEY", "OLLAMA_BASE_URL", "OPENAI_COMPATIBLE_API_KEY",
                "OPENAI_COMPATIBLE_BASE_URL")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No provider keys from the developer's shell; evaluation cache shared by this session's tests only."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(_session_cache(tmp_path_factory)))


_CACHE: list[Path] = []


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("eval-cache"))
    return _CACHE[0]


@pytest.fixture
def problem_dir(tmp_path: Path) -> Path:
    return write_problem(tmp_path / "problems")


@pytest.fixture
def problem(problem_dir: Path):
    from autocomp.problem import Problem

    return Problem.load(problem_dir)


@pytest.fixture
def evaluator() -> FakeEvaluator:
    return FakeEvaluator()
