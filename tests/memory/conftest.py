from __future__ import annotations

from pathlib import Path

import pytest

PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "VLLM_API_KEY",
                "VLLM_BASE_URL")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No provider keys from the developer's shell; a private evaluation cache and data directory."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path / "eval-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


@pytest.fixture
def memory_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This test's memory, named the way a user would: $AUTOCOMP_MEMORY."""
    path = tmp_path / "memory" / "memory.sqlite"
    monkeypatch.setenv("AUTOCOMP_MEMORY", str(path))
    return path
