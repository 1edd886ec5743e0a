"""Every legacy-dialect baseline of the suite migrates by rule and is proven equivalent in the sandbox.

A suite kernel is legacy when its problem says ``dialect = "v1"`` (then it is ``kernel.py``) or when a
``kernel_legacy.py`` sits next to it (a problem ported to the current dialect keeps its legacy original
there). Each is checked on every seed of its problem's correctness-check inputs, bit-exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from autocomp.migrate.pipeline import problem_cases, run_migration
from autocomp.problem import Problem
from tests.fakes.eval_support import private_cache  # noqa: F401 - autouse fixture

PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


def legacy_kernels() -> list[tuple[str, Path]]:
    found = []
    for toml in sorted(PROBLEMS.glob("*/problem.toml")):
        if Problem.load(toml.parent).spec.dialect == "v1":
            found.append((toml.parent.name, toml.parent / "kernel.py"))
        if (toml.parent / "kernel_legacy.py").is_file():
            found.append((toml.parent.name, toml.parent / "kernel_legacy.py"))
    return found


LEGACY = legacy_kernels()


def test_the_suite_has_legacy_kernels_to_migrate():
    assert len(LEGACY) >= 10, LEGACY  # 16 problems were written in the legacy dialect


@pytest.fixture(scope="module")
def evaluator():
    ev = Evaluator("sim", workers=1, cache=False)
    yield ev
    ev.close()


@pytest.mark.parametrize("name, path", LEGACY, ids=[f"{n}/{p.name}" for n, p in LEGACY])
def test_suite_legacy_kernel_migrates_and_is_equivalent(name, path, evaluator):
    problem = Problem.load(PROBLEMS / name)
    source = path.read_text()
    report = run_migration(source, problem.spec.function, problem_cases(problem, None), evaluator,
                           target=problem.spec.target, filename=path.name)
    m = report.migration
    assert m.findings == [], [str(f) for f in m.findings]
    assert "neuronxcc" not in m.migrated and "affine_range" not in m.migrated
    eq = report.equivalence
    assert eq.original_error is None and eq.migrated_error is None, eq.failure()
    assert len(eq.cases) == len(problem.spec.seeds)
    assert report.equivalent, eq.failure()
    assert {c.detail for c in eq.cases} == {"bit-exact"}
