"""The suite's building blocks: comparison, knob substitution, directory resolution, the figures cache."""

from __future__ import annotations

import numpy as np
import pytest

from autocomp.problem import Problem, ProblemError, Tolerance
from autocomp.suite import baseline, compare, mixed
from autocomp.suite.location import (
    ProblemNotFoundError,
    bundled_problems_dir,
    load_problem,
    problems_dir,
    resolve_problem,
)
from autocomp.suite.scaffold import function_name, scaffold

TOL = Tolerance(rel_l2=1e-3, atol=1e-3, rtol=1e-3)


def test_compare_passes_within_tolerance_and_reports_the_worst_element():
    ref = np.linspace(-1, 1, 12).reshape(3, 4)
    assert compare(ref + 1e-5, ref, TOL).passed
    out = ref.copy()
    out[2, 1] += 0.5
    result = compare(out, ref, TOL)
    assert not result.passed and result.worst_index == (2, 1) and result.violations == 1
    assert result.max_abs == pytest.approx(0.5) and "worst at [2, 1]" in result.reason


def test_compare_fails_nan_and_shape_mismatch():
    ref = np.ones((2, 2))
    nan = np.array([[1.0, np.nan], [1.0, 1.0]], dtype=np.float32)
    result = compare(nan, ref, TOL)
    assert not result.passed and result.violations == 1 and result.worst_index == (0, 1)
    assert "shape [4] != reference [2, 2]" in compare(np.ones(4), ref, TOL).reason


def test_compare_needs_both_the_l2_and_the_elementwise_bound():
    ref = np.full(1000, 1.0)
    everywhere_a_bit_off = ref * (1 + 9e-4)  # each element within rtol, but rel-L2 9e-4 < 1e-3 too
    assert compare(everywhere_a_bit_off, ref, TOL).passed
    assert not compare(ref * (1 + 2e-3), ref, TOL).passed


def test_mixed_values_have_both_signs_many_decades_and_zeros():
    x = mixed(np.random.default_rng(0), (256, 256), decades=(-2, 1), dtype=np.float32)
    nonzero = np.abs(x[x != 0])
    assert x.dtype == np.float32 and (x < 0).any() and (x > 0).any() and (x == 0).mean() > 0.01
    assert nonzero.max() / np.median(nonzero) > 20 and np.median(nonzero) / nonzero.min() > 20
    same = mixed(np.random.default_rng(0), (256, 256), decades=(-2, 1))
    assert np.array_equal(x, same)


def test_problems_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOCOMP_PROBLEMS", raising=False)
    assert problems_dir() == bundled_problems_dir()
    (tmp_path / "problems").mkdir()
    assert problems_dir().resolve() == (tmp_path / "problems").resolve()
    monkeypatch.setenv("AUTOCOMP_PROBLEMS", str(tmp_path / "env"))
    assert problems_dir() == tmp_path / "env"
    assert problems_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_resolve_problem_by_name_or_path(tmp_path):
    root = scaffold("alpha", tmp_path / "suite")
    assert resolve_problem("alpha", tmp_path / "suite") == root
    assert resolve_problem(str(root / "problem.toml"), tmp_path / "elsewhere") == root
    with pytest.raises(FileNotFoundError, match="problems there: alpha"):
        resolve_problem("beta", tmp_path / "suite")


def test_a_name_is_looked_up_in_autocomp_problems_then_problems_then_the_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = scaffold("gemm_bf16", tmp_path / "env")  # shadows the suite's problem of that name
    local = scaffold("local_only", tmp_path / "problems")
    monkeypatch.setenv("AUTOCOMP_PROBLEMS", str(tmp_path / "env"))
    assert resolve_problem("gemm_bf16") == mine
    assert resolve_problem("local_only").resolve() == local.resolve()
    assert resolve_problem("softmax") == bundled_problems_dir() / "softmax"
    assert load_problem("softmax").name == "softmax"
    with pytest.raises(ProblemNotFoundError) as err:
        load_problem("softmx")
    message = str(err.value)
    for place in (f"$AUTOCOMP_PROBLEMS {tmp_path / 'env'}", "./problems problems",
                  f"the shipped suite {bundled_problems_dir()}", "did you mean softmax?"):
        assert place in message
    assert isinstance(err.value, ProblemError)
    monkeypatch.delenv("AUTOCOMP_PROBLEMS")
    with pytest.raises(ProblemNotFoundError, match="no such problem"):
        resolve_problem("gemm_bf16", tmp_path / "elsewhere")  # --dir: there only, and it does not exist


def test_function_names_are_identifiers():
    assert function_name("my-prob.v2") == "my_prob_v2" and function_name("3d") == "kernel_3d"


def test_figures_are_cached_by_content(tmp_path, monkeypatch):
    root = scaffold("cached", tmp_path)
    problem = Problem.load(root)
    calls = []
    real = baseline.measure
    monkeypatch.setattr(baseline, "measure", lambda p: calls.append(p.content_hash) or real(p))
    first = baseline.baseline_figures(problem)
    assert baseline.baseline_figures(Problem.load(root)) == first and len(calls) == 1
    (root / "kernel.py").write_text((root / "kernel.py").read_text().replace("TILE_F = 512", "TILE_F = 1024"))
    changed = baseline.baseline_figures(Problem.load(root))
    assert len(calls) == 2 and changed.content_hash != first.content_hash
    baseline.baseline_figures(Problem.load(root), refresh=True)
    assert len(calls) == 3


def test_a_failing_baseline_is_reported_not_raised(tmp_path):
    root = scaffold("failing", tmp_path)
    kernel = root / "kernel.py"
    kernel.write_text(kernel.read_text().replace("and cols % TILE_F == 0", "and cols % TILE_F == 1, 'cols mismatch'"))
    figures = baseline.baseline_figures(Problem.load(root))  # loading does not run the kernel; tracing does
    assert figures.error == "AssertionError: cols mismatch" and figures.latency_us is None
    assert figures.input_shapes  # the shapes are still known
