"""The NKI release a v2 evaluation follows: the modelled one by default, the problem's pin, the evaluator's pin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.problem import Problem, ProblemError
from tests.fakes.eval_support import PROBLEMS

DYNAMIC = (PROBLEMS / "v2_add" / "kernel.py").read_text().replace(
    "for r in nl.affine_range(a.shape[0] // 128):", "for r in nl.dynamic_range(a.shape[0] // 128):")


@pytest.fixture(scope="module")
def v2_add() -> Problem:
    return Problem.load(PROBLEMS / "v2_add")


def test_results_name_the_release_and_carry_its_deprecation_warnings(v2_add, tmp_path):
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path)
    r = ev.evaluate(v2_add, v2_add.baseline_source)
    assert r.status == "correct" and r.nki_version == "0.7"
    assert any("warn_deprecated_api" in w and "range" in w for w in r.warnings)
    removed = ev.evaluate(v2_add, DYNAMIC)
    assert removed.status == "compile_error" and "err_removed_api" in removed.reason
    assert "fori_loop" in removed.reason


def test_an_evaluator_pin_runs_the_older_release(v2_add, tmp_path):
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, nki_version="0.6")
    r = ev.evaluate(v2_add, DYNAMIC)
    assert r.status == "correct" and r.nki_version == "0.6"
    assert any("deprecated since nki 0.6" in w for w in r.warnings)
    with pytest.raises(EvaluatorError, match="0.6, 0.7"):
        Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, nki_version="0.4")


def test_a_problem_pins_its_release_in_problem_toml(tmp_path):
    root = Path(shutil.copytree(PROBLEMS / "v2_add", tmp_path / "v2_add"))
    toml = root / "problem.toml"
    toml.write_text(toml.read_text().replace('dialect = "v2"', 'dialect = "v2"\nnki_version = "0.6.0"'))
    assert Problem.load(root).spec.nki_version == "0.6"
    toml.write_text(toml.read_text().replace('nki_version = "0.6.0"', 'nki_version = "0.5"'))
    with pytest.raises(ProblemError, match="not modelled"):
        Problem.load(root)
    toml.write_text(toml.read_text().replace('dialect = "v2"', 'dialect = "v1"').replace('"0.5"', '"0.6"'))
    with pytest.raises(ProblemError, match="remove nki_version"):
        Problem.load(root)
