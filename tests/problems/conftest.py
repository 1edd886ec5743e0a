"""Shared fixtures for the problem-suite tests: the bundled suite, a private cache, the CLI runner."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Baseline figures go to a per-session cache: shared by the tests, never the user's ~/.cache."""
    path = tmp_path_factory.mktemp("autocomp-cache")
    old = os.environ.get("AUTOCOMP_CACHE_DIR")
    os.environ["AUTOCOMP_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("AUTOCOMP_CACHE_DIR", None)
    else:
        os.environ["AUTOCOMP_CACHE_DIR"] = old


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli():
    from autocomp.cli import app

    return app
