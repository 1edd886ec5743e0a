"""Shared fixtures for the problem-suite tests: the bundled suite, a private cache, the CLI runner."""

from __future__ import annotations

import os

# The simulator runs many tiny matmuls; a multi-threaded BLAS oversubscribes 2 cores and is ~40x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402


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
