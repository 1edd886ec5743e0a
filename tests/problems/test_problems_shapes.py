"""Suite problems over several timing shapes: enough of them, and their baselines and knob values are correct at
every declared shape (check shapes, first seed; docs/evaluation.md#problems-over-several-shapes)."""

from __future__ import annotations

import pytest

from autocomp.knobs import read_constants, rewrite_constants
from autocomp.problem import Problem, find_problems
from autocomp.suite import check_kernel
from autocomp.suite.check import load_problem_kernel
from autocomp.suite.location import bundled_problems_dir

SHAPED = [p for p in find_problems(bundled_problems_dir()) if "[[shapes]]" in (p / "problem.toml").read_text()]


def test_at_least_three_suite_problems_declare_several_shapes():
    several = [p.name for p in SHAPED if len(Problem.load(p).shapes) >= 2]
    assert len(several) >= 3, several
    assert "gqa_decode_bf16" in several  # decode attention over context lengths


@pytest.mark.parametrize("path", SHAPED, ids=[p.name for p in SHAPED])
def test_baseline_and_knob_values_are_correct_at_every_shape(path, tmp_path):
    problem = Problem.load(path)
    seed = problem.spec.seeds[0]
    defaults = read_constants(problem.baseline_source)
    variants = [(None, problem.baseline_source)] + [
        (f"{knob} = {value}", rewrite_constants(problem.baseline_source, {knob: value}))
        for knob, values in problem.spec.knobs.items() for value in values if value != defaults[knob]]
    sizes = []
    for shape in problem.shapes:
        view = problem.at_shape(shape.name)
        sizes.append(tuple(tuple(s.shape) for s in view.input_specs()))
        # The first shape's knob values are checked by test_problems_suite (Problem.inputs is that shape).
        for i, (label, source) in enumerate(variants if shape is not problem.shapes[0] else variants[:1]):
            kernel = tmp_path / f"variant{i}.py"
            kernel.write_text(source)
            for result in check_kernel(view, seed, load_problem_kernel(view, kernel)):
                assert result.passed, f"{problem.name} at {shape.name} ({label or 'baseline'}): {result.reason}"
    assert len(set(sizes)) == len(sizes), f"{problem.name}: two shapes with the same timing inputs"
