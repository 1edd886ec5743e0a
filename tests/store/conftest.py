"""Fixtures for the run store tests: a tiny real problem and a run built through the RunStore API."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.problem import Problem
from tests.fakes.store_fixtures import build_run, write_problem


@pytest.fixture
def problem(tmp_path: Path) -> Problem:
    return Problem.load(write_problem(tmp_path / "problems" / "vec_add"))


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def run_dir(runs_dir: Path, problem: Problem) -> Path:
    return build_run(runs_dir, problem)
