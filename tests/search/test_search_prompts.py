"""Prompt templates, architecture notes per target, seeded menu dropout (autocomp.search.prompts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.search import yamlish
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.prompts import (
    ProblemBrief,
    PromptError,
    PromptLibrary,
    PromptRenderer,
    find_prompts_dir,
    sample_menu,
    stable_rng,
)

REPO_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.fixture
def library() -> PromptLibrary:
    return PromptLibrary()


@pytest.fixture
def renderer(library, problem) -> PromptRenderer:
    brief = ProblemBrief.from_problem(problem)
    brief.baseline_latency_us = 66.2
    return PromptRenderer(library, brief)


@pytest.fixture
def parent(problem) -> Node:
    n = Node(id=1, source=problem.baseline_source, iteration=0, origin="baseline")
    n.outcome = Outcome(status="correct", latency_us=66.2, profile_summary={"dma_active_time_percent": 0.93},
                        hints=("dma-bound: 98% of the critical path is DMA",), roofline_percent=41.0,
                        roofline_bound="hbm")
    return n


def test_prompt_files_are_found_in_the_repository_and_by_env(monkeypatch, tmp_path):
    assert find_prompts_dir() == REPO_PROMPTS
    monkeypatch.setenv("AUTOCOMP_PROMPTS", str(tmp_path))
    assert find_prompts_dir() == REPO_PROMPTS  # an empty override is skipped
    (tmp_path / "plan.md").write_text("x")
    assert find_prompts_dir() == tmp_path
    with pytest.raises(PromptError, match="missing prompt files"):
        PromptLibrary(tmp_path)


@pytest.mark.parametrize("target", ["trn1", "trn2", "trn3"])
def test_architecture_notes_per_target(library, problem, target):
    brief = ProblemBrief.from_problem(problem, target=target)
    system = PromptRenderer(library, brief).system
    assert f"Target: {target}" in system
    others = {"trn1", "trn2", "trn3"} - {target}
    assert not any(f"Target: {o}" in system for o in others)
    assert "## Rules" in system and "${" not in system


def test_rules_follow_the_dialect(library):
    v1, v2 = "\n".join(library.rules("v1")), "\n".join(library.rules("v2"))
    assert "nl.affine_range" in v1 and "neuronxcc.nki" in v1
    assert "dst=" in v2 and "never import `neuronxcc`" in v2
    common = library.rules("v1")[0]
    assert common in library.rules("v2")


def test_unknown_target_is_an_error(library):
    with pytest.raises(PromptError, match="trn9"):
        library.architecture("trn9")


def test_menu_dropout_is_seeded_and_varies(library):
    def pick(*key):
        return [m.id for m in sample_menu(library.menu, stable_rng(*key), dropout=0.5)]

    assert pick(0, 1, "abc", 0) == pick(0, 1, "abc", 0)
    variants = {tuple(pick(0, 1, "abc", j)) for j in range(8)}
    assert len(variants) > 1
    assert all(len(v) >= 3 for v in variants)
    everything = sample_menu(library.menu, stable_rng(1), dropout=0.0)
    assert sorted(m.id for m in everything) == sorted(m.id for m in library.menu)


def test_plan_prompt_shows_code_profile_history_menu(renderer, parent, library):
    menu = sample_menu(library.menu, stable_rng(3), dropout=0.0)
    messages = renderer.plan(parent, history=["- from #1: bigger tiles -> #2 correct"], menu=menu, number=2,
                             count=3)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "Problem: scale_add" in user and "66.2 us" in user
    assert " 6 | TILE_F = 64  # columns per tile" in user  # numbered listing
    assert "DMA 93.0%" in user and "dma-bound" in user
    assert "Roofline bound: HBM" in user and "reaches 41.0% of it" in user
    assert "bigger tiles" in user and "plan 2 of 3" in user
    assert "**Retile" in user
    assert "${" not in user


def test_implement_prompt_carries_plan_and_clean_code(renderer, parent):
    user = renderer.implement(parent, "PLAN: use 512 columns")[1]["content"]
    assert "PLAN: use 512 columns" in user and "```python\n\"\"\"y = 2x + 1" in user
    assert " | " not in user.split("```python")[1].split("```")[0]  # no line numbers in code to copy


def test_repair_prompt_points_at_the_line_and_the_numbers(renderer, problem):
    code = problem.baseline_source
    user = renderer.repair(code, status="compile_error", reason="kernel.py:15: partition dimension 256 > 128",
                           error_report="- seed 0: worst at index [3, 7]", plan="PLAN B")[1]["content"]
    assert "compile_error" in user and "At line 15" in user and ">>15 |" in user
    assert "worst at index [3, 7]" in user and "PLAN B" in user
    assert "${" not in user


def test_yaml_subset_reader_matches_pyyaml_on_the_shipped_files():
    yaml = pytest.importorskip("yaml")
    for name in ("menu.yaml", "rules.yaml"):
        assert yamlish.load(REPO_PROMPTS / name) == yaml.safe_load((REPO_PROMPTS / name).read_text())


def test_yaml_subset_reader_errors_name_the_line():
    with pytest.raises(yamlish.YamlError, match="x.yaml:2"):
        yamlish.loads("a: 1\n  b: 2\n", "x.yaml")
    assert yamlish.loads("a:\n  - 1\n  - [x, 'y z']\nb: >\n  one\n  two\n") == {"a": [1, ["x", "y z"]],
                                                                               "b": "one two\n"}


def test_plan_prompt_shows_the_parents_simulator_warnings(renderer, problem, library):
    from autocomp.evaluate.result import EvalResult

    result = EvalResult(status="correct", reason="correct", latency_us=80.0,
                        warnings=["NkiWarning: [warn_sbuf_spill] live SBUF tiles need 394240 bytes per partition"])
    n = Node(id=1, source=problem.baseline_source, iteration=0, origin="baseline")
    n.outcome = Outcome.from_result(result)
    user = renderer.plan(n, history=[], menu=sample_menu(library.menu, stable_rng(3), dropout=0.0), number=1,
                         count=1)[1]["content"]
    assert "- warning: NkiWarning: [warn_sbuf_spill] live SBUF tiles need 394240 bytes" in user
