"""Shared by the evaluator and adversarial tests: the small test problems and kernel files."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from autocomp.problem import Problem

PROBLEMS = Path(__file__).parents[1] / "evaluate" / "problems"
ADVERSARIAL = Path(__file__).parents[1] / "adversarial"


@functools.cache
def problem(name: str) -> Problem:
    return Problem.load(PROBLEMS / name)


def kernel_source(relpath: str) -> str:
    """A kernel file under tests/adversarial (e.g. "kernels/sleep_forever.py")."""
    return (ADVERSARIAL / relpath).read_text()


def kernel_meta(source: str) -> dict[str, str]:
    """The ``KEY: value`` lines of a kernel file's docstring (PROBLEM, EXPECT, REASON, GATE)."""
    return dict(re.findall(r"^([A-Z]+): (.*)$", source, re.M))


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """No test writes to the user's ~/.cache/autocomp (autouse in tests/evaluate and tests/adversarial)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path_factory.mktemp("autocomp-cache")))
    yield
    mp.undo()
