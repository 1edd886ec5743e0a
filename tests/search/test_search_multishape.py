"""What the LLM hears about a problem over several shapes: every shape it is timed at, and per-shape latencies
with the shapes where a candidate lost ground (docs/evaluation.md#problems-over-several-shapes)."""

from __future__ import annotations

from autocomp.evaluate.result import EvalResult, ShapeResult
from autocomp.search.history import result_text
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.prompts import ProblemBrief, node_summary
from tests.fakes.eval_support import problem


def _result(latencies: dict[str, float], base: dict[str, float], regressed: list[str]) -> EvalResult:
    shapes = [ShapeResult(name=n, latency_us=us, baseline_latency_us=base[n], speedup=base[n] / us)
              for n, us in latencies.items()]
    return EvalResult(status="correct", reason="ok", latency_us=sum(latencies.values()) / 2, shapes=shapes,
                      regressed_shapes=regressed)


BASE = {"rows128": 10.0, "rows512": 40.0}


def test_feedback_lists_per_shape_latencies_and_slower_shapes():
    parent = Node(id=1, source="a", iteration=1, origin="llm",
                  outcome=Outcome.from_result(_result({"rows128": 9.0, "rows512": 30.0}, BASE, [])))
    child = Node(id=2, source="b", iteration=2, origin="llm", parent_id=1,
                 outcome=Outcome.from_result(_result({"rows128": 11.0, "rows512": 20.0}, BASE, ["rows128"])))
    text = result_text(child, parent)
    assert "rows128 11.0 us (0.91x)" in text and "rows512 20.0 us (2.00x)" in text
    assert "SLOWER than the baseline at rows128" in text
    assert "slower than its parent at rows128" in text and "parent at rows128, rows512" not in text
    summary = node_summary(child, 25.0)
    assert "per shape" in summary and "SLOWER than the baseline at rows128" in summary
    assert child.outcome.short().endswith("slower than the baseline at rows128")


def test_single_shape_feedback_is_unchanged():
    out = Outcome.from_result(EvalResult(status="correct", reason="ok", latency_us=5.0))
    assert out.shape_text() == "" and out.short() == "correct, 5.0 us (sim)"


def test_brief_names_every_timed_shape_and_how_they_are_scored():
    brief = ProblemBrief.from_problem(problem("multi_add"))
    assert "shape rows128 (rows=128), weight 1: a [128, 256] float32" in brief.timing_shapes
    assert "shape rows512 (rows=512), weight 3: a [512, 256] float32" in brief.timing_shapes
    conditions = brief.conditions()
    assert "weighted geometric mean" in conditions and "slower than the baseline at any shape" in conditions
    assert "geometric" not in ProblemBrief.from_problem(problem("v2_add")).conditions()
