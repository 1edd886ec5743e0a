"""The bundled suite: every problem loads, its baseline passes on every seed, and `problems list` measures it."""

from __future__ import annotations

import json

import pytest

from autocomp.knobs import read_constants, rewrite_constants
from autocomp.problem import Problem, find_problems
from autocomp.suite import baseline_figures, check_kernel
from autocomp.suite.check import load_problem_kernel
from autocomp.suite.location import bundled_problems_dir
from autocomp.units import latency

SUITE = bundled_problems_dir()
PROBLEMS = find_problems(SUITE)
NAMES = [p.name for p in PROBLEMS]
WITH_KNOBS = [p for p in PROBLEMS if "[knobs]" in (p / "problem.toml").read_text()]


def test_suite_covers_the_workloads():
    assert len(PROBLEMS) >= 16
    specs = [Problem.load(p).spec for p in PROBLEMS]
    assert all(s.dialect == "v2" for s in specs), "every default baseline is in the current nki dialect"
    assert sum(bool(s.knobs) for s in specs) >= 8
    for expected in ("gemm", "attention", "causal", "gqa", "rmsnorm", "layernorm", "softmax", "swiglu", "rope",
                     "silu", "adamw", "mamba", "conv1d", "conv2d", "cumsum", "maxpool", "transpose", "batched"):
        assert any(expected in n for n in NAMES), f"no {expected} problem in the suite"


def knob_variants(problem: Problem):
    """(knob, value, source) for every declared value but the baseline's, one knob changed at a time."""
    defaults = read_constants(problem.baseline_source)
    for knob, values in problem.spec.knobs.items():
        for value in values:
            if value != defaults[knob]:
                yield knob, value, rewrite_constants(problem.baseline_source, {knob: value})


@pytest.mark.parametrize("path", PROBLEMS, ids=NAMES)
def test_baseline_is_correct_on_every_seed_and_profiled(path):
    problem = Problem.load(path)
    assert problem.name == path.name
    for seed in problem.spec.seeds:
        for i, result in enumerate(check_kernel(problem, seed)):
            assert result.passed, f"{problem.name} seed {seed} output {i}: {result.reason}"
    figures = baseline_figures(problem)  # fills the session cache that `problems list` reads below
    assert not figures.error, figures.error
    assert figures.latency_us > 0 and 0 < figures.roofline_percent <= 100
    assert figures.input_shapes


@pytest.mark.parametrize("path", WITH_KNOBS, ids=[p.name for p in WITH_KNOBS])
def test_every_knob_value_is_valid(path, tmp_path):
    """Each declared value, alone, still gives a correct kernel (first seed, check shapes)."""
    problem = Problem.load(path)
    for knob, value, source in knob_variants(problem):
        kernel = tmp_path / f"{knob}_{value}.py"
        kernel.write_text(source)
        for result in check_kernel(problem, problem.spec.seeds[0], load_problem_kernel(problem, kernel)):
            assert result.passed, f"{problem.name} with {knob} = {value}: {result.reason}"


def test_list_shows_latency_and_roofline_for_every_problem(runner, cli):
    result = runner.invoke(cli, ["problems", "list", "--dir", str(SUITE), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    variants = [f"{p.name}@{v}" for p in PROBLEMS for v in Problem.load(p).base_spec.variants]
    assert variants and sorted(rows) == sorted(NAMES + variants)
    for name, row in rows.items():
        assert not row["error"], f"{name}: {row['error']}"
        assert row["latency_us"] > 0 and row["roofline_percent"] > 0, name
        assert row["shapes"] and row["dialect"] in ("v1", "v2")

    table = runner.invoke(cli, ["problems", "list", "--dir", str(SUITE)])
    assert table.exit_code == 0, table.output
    for name, row in rows.items():
        line = next(line for line in table.stdout.splitlines() if f" {name} " in line)
        assert latency(row['latency_us']) in line and f"{row['roofline_percent']:.1f}" in line
