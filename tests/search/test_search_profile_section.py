"""What a planning prompt says about cost and correctness: per-line costs that are `autocomp profile`'s, the roofline
bound labelled apart from the critical path, and every shape the kernel is run at."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.problem import Problem
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome, eval_result
from autocomp.search.profile_section import profile_section
from autocomp.search.prompts import ProblemBrief, PromptLibrary, PromptRenderer
from autocomp.suite.location import bundled_problems_dir

_PROMPT_LINE = re.compile(r"^- line (\d+) .*?: ([\d,.]+) us on the critical path \(([\d.]+)%\); (.*) over ([\d,]+) "
                          r"instructions$", re.MULTILINE)
_CLI_LINE = re.compile(r"^  kernel\.py:(\d+): ([\d,.]+) (ms|µs|ns) on the critical path \(([\d.]+)%, \d+ of its "
                       r"(\d+) instructions\)", re.MULTILINE)
_SCALE = {"ms": 1e3, "µs": 1.0, "ns": 1e-3}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture(scope="module")
def layernorm():
    """The suite's layernorm baseline, evaluated by the sim backend as a run evaluates it."""
    from autocomp.evaluate import Evaluator

    problem = Problem.load(bundled_problems_dir() / "layernorm")
    evaluator = Evaluator("sim", workers=1)
    try:
        result = evaluator.evaluate(problem, problem.baseline_source)
    finally:
        evaluator.close()
    assert result.status == "correct", result.reason
    return problem, Outcome.from_result(eval_result(result))


def test_the_prompts_line_costs_are_autocomp_profiles(layernorm):
    problem, outcome = layernorm
    section = profile_section(outcome, problem.baseline_source)
    shown = {int(m[0]): m for m in _PROMPT_LINE.findall(section)}
    assert len(shown) >= 3, section

    shapes = [f"{name}={'x'.join(map(str, s.shape))}:{s.dtype.name}"
              for name, s in zip(("x", "gamma", "beta"), problem.input_specs())]
    args = ["profile", str(problem.kernel_path), "--function", "layernorm", "--target", problem.spec.target]
    for spec in shapes:
        args += ["--shapes", spec]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    as_json = CliRunner().invoke(app, args + ["--json"])
    rows = {r["line"]: r for r in next(iter(json.loads(as_json.output).values()))["line_costs"]}
    printed = {int(m[0]): m for m in _CLI_LINE.findall(text.output)}
    for line, (_, critical, share, engines, count) in shown.items():
        row = rows[line]
        assert _number(critical) == pytest.approx(row["critical_time"] * 1e6, abs=0.05)
        assert float(share) == pytest.approx(row["critical_percent"] * 100, abs=0.05)
        assert _number(count) == row["instructions"]
        for lane, seconds in row["engine_time"].items():
            label = {"dma": "DMA", "gpsimd": "GpSimd"}.get(lane, lane.capitalize())
            assert f"{label} {seconds * 1e6:,.1f} us" in engines
        if line in printed:  # the readable report rounds to 3-4 significant digits
            _, value, unit, cli_share, cli_count = printed[line]
            assert _number(value) * _SCALE[unit] == pytest.approx(_number(critical), rel=5e-3, abs=0.01)
            assert float(cli_share) == pytest.approx(float(share), abs=0.05) and int(cli_count) == _number(count)
    assert set(printed) & set(shown)


def test_the_roofline_bound_is_labelled_apart_from_the_critical_path(layernorm):
    problem, outcome = layernorm
    section = profile_section(outcome, problem.baseline_source)
    assert re.search(r"^- Roofline bound: (HBM|Tensor) \(the essential work at peak rate\)", section, re.MULTILINE)
    critical = re.search(r"^- Critical path \(what the schedule actually waits for\): (.*)\.$", section, re.MULTILINE)
    shares = outcome.profile_summary["critical_path_shares"]
    top = max(shares, key=shares.get)
    assert critical and critical.group(1).startswith({"dma": "DMA"}.get(top, top.capitalize()))
    assert "Engine waits" in section and " waited on " in section


def test_a_profile_without_line_costs_says_so():
    outcome = Outcome(status="correct", latency_us=5.0, evidence="hw",
                      profile_summary={"dma_active_time_percent": 0.5})
    assert "Per-line costs: not in this evaluation (hardware profiles carry none)." in profile_section(outcome, "")


def test_the_prompts_state_every_shape_the_kernel_runs_at_and_the_tolerance(problem):
    renderer = PromptRenderer(PromptLibrary(), ProblemBrief.from_problem(problem))
    parent = Node(id=1, source=problem.baseline_source, iteration=0, origin="baseline",
                  outcome=Outcome(status="correct", latency_us=10.0))
    prompts = {"plan": renderer.plan(parent, history=[], menu=PromptLibrary().menu)[1]["content"],
               "implement": renderer.implement(parent, "a plan")[1]["content"],
               "repair": renderer.repair(problem.baseline_source, status="incorrect", reason="r", error_report="",
                                         plan="p")[1]["content"]}
    for phase, user in prompts.items():
        for seed in problem.spec.seeds:
            (check,) = problem.inputs(seed, check=True)
            assert f"x {list(check.shape)} float32" in user, phase
        assert "seeds 0, 1, 2" in user and "Latency is measured at x [256, 2048] float32" in user
        assert "relative L2 error <= 1e-05" in user and "never special-case a size" in user
        assert "Work-scaling review:" in user and "Bytes moved are never compared" in user


def test_seeds_with_different_check_shapes_are_each_named(problem, monkeypatch):
    import numpy as np

    def inputs(seed, *, check=True):
        return (np.zeros((128 * (1 + seed % 2), 512), np.float32),)

    monkeypatch.setattr(problem, "inputs", inputs)
    brief = ProblemBrief.from_problem(problem)
    assert brief.check_shapes == "seeds 0, 2: x [128, 512] float32; seed 1: x [256, 512] float32"
