"""The beam search with the knob tuner, through the Python API with a fake evaluator."""

from __future__ import annotations

import pytest

import autocomp
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator, grid_latency, grid_problem


def _run(problem, evaluator, tmp_path, **kw):
    return autocomp.optimize(problem, agent="knobs", evaluator=evaluator, out=tmp_path / "runs", workers=2, **kw)


def test_knob_tuner_finds_the_best_tile_and_reports_it(tmp_path, problem_dir, evaluator):
    result = _run(problem_dir, evaluator, tmp_path)
    assert result.status == "finished" and result.agent == "knobs"
    assert "TILE_F = 512" in result.best_source
    assert result.speedup == pytest.approx((1000 / 8 + 10) / (1000 / 512 ** 0.5 + 10))
    assert result.revalidated is True and result.evidence == "sim" and result.roofline_percent == 40.0
    assert result.best_kernel_path.read_text() == result.best_source
    search_calls = [s for s, seeds in zip(evaluator.calls, evaluator.seeds_seen) if seeds is None]
    assert len(search_calls) == len(set(search_calls)) == result.evaluations  # nothing evaluated twice
    with RunReader.open_readonly(result.run_dir) as reader:
        assert reader.info.status == "finished"
        reval = reader.evaluation(result.best_candidate, "revalidate")
        assert reval is not None and reval.status == "correct"
        fresh = evaluator.seeds_seen[-1]
        assert len(fresh) == 3 and not set(fresh) & {0, 1, 2}
        assert "iterations" in reader.config()["search"] and reader.config()["problem"] == "scale_add"


def test_pattern_moves_reach_the_corner_optimum_quickly(tmp_path):
    ev = FakeEvaluator(grid_latency)
    result = _run(grid_problem(tmp_path), ev, tmp_path, beam=3, iterations=6)
    assert "BLOCK_M = 4" in result.best_source and "BLOCK_N = 4" in result.best_source
    assert "TILE_N = 512" in result.best_source
    with RunReader.open_readonly(result.run_dir) as reader:
        order = [c for c in reader.candidates()]
    first_best = next(i for i, c in enumerate(order, 1) if c.id == result.best_candidate)
    assert first_best <= 6, f"optimum found at evaluation {first_best} of 27 configurations"


def test_early_stop_after_iterations_without_improvement(tmp_path):
    ev = FakeEvaluator(lambda c: 100.0)  # every configuration is as fast as the baseline
    result = _run(grid_problem(tmp_path), ev, tmp_path, iterations=20, early_stop=2, beam=2, knob_batch=2)
    assert "no improvement in 2 iterations" in result.stop_reason
    assert result.iterations == 2 and result.speedup == 1.0
    assert "baseline is the fastest" in result.revalidation_note


def test_search_stops_when_the_space_is_covered(tmp_path, problem_dir):
    result = _run(problem_dir, FakeEvaluator(lambda c: 100.0 - c["TILE_F"] / 64), tmp_path, iterations=20,
                  early_stop=10)
    assert "has been tried" in result.stop_reason and result.evaluations == 4


def test_failed_configurations_are_rejected_not_fatal(tmp_path, problem_dir):
    ev = FakeEvaluator(lambda c: -1.0 if c["TILE_F"] == 512 else 1000.0 / c["TILE_F"])
    result = _run(problem_dir, ev, tmp_path)
    assert "TILE_F = 256" in result.best_source and result.status == "finished"


def test_a_winner_failing_fresh_seeds_is_not_reported(tmp_path, problem_dir):
    class Flaky(FakeEvaluator):
        def evaluate(self, problem, source, *, seeds=None):
            if seeds is not None and "TILE_F = 512" in source:
                return {"status": "incorrect", "reason": "wrong on seed 77", "evidence": "sim"}
            return super().evaluate(problem, source, seeds=seeds)

    result = _run(problem_dir, Flaky(), tmp_path)
    assert "TILE_F = 256" in result.best_source
    assert "failed re-validation" in result.revalidation_note and result.revalidated is True


def test_extending_a_finished_run_matches_a_longer_run(tmp_path):
    short = _run(grid_problem(tmp_path / "a"), FakeEvaluator(grid_latency), tmp_path / "a", iterations=1, beam=2)
    ev = FakeEvaluator(grid_latency)
    extended = autocomp.optimize(resume=short.run_dir, evaluator=ev, out=tmp_path / "a" / "runs", iterations=3)
    full = _run(grid_problem(tmp_path / "b"), FakeEvaluator(grid_latency), tmp_path / "b", iterations=3, beam=2)
    with RunReader.open_readonly(extended.run_dir) as r1, RunReader.open_readonly(full.run_dir) as r2:
        assert [c.source_hash for c in r1.candidates()] == [c.source_hash for c in r2.candidates()]
        assert [b.beam for b in r1.beams()] == [b.beam for b in r2.beams()]
    assert extended.best_latency_us == full.best_latency_us
    # The resumed run evaluated only what the short run had not.
    assert len([s for s, seeds in zip(ev.calls, ev.seeds_seen) if seeds is None]) == \
        extended.evaluations - short.evaluations


def test_interrupt_keeps_finished_work_and_resume_completes(tmp_path):
    problem = grid_problem(tmp_path)
    seen = []

    def stop_at_iteration_2(kind, data):
        seen.append(kind)
        if kind == "iteration_start" and data["iteration"] == 2:
            raise KeyboardInterrupt

    ev = FakeEvaluator(grid_latency)
    first = autocomp.optimize(problem, agent="knobs", evaluator=ev, out=tmp_path / "runs", workers=2,
                              on_event=stop_at_iteration_2)
    assert first.status == "interrupted"
    with RunReader.open_readonly(first.run_dir) as reader:
        assert reader.info.status == "interrupted" and [b.iteration for b in reader.beams()] == [0, 1]
        done = {e.candidate_id: e.created for e in reader.evaluations()}
    second = autocomp.optimize(resume=first.run_dir, evaluator=ev, out=tmp_path / "runs")
    assert second.status == "finished"
    with RunReader.open_readonly(second.run_dir) as reader:
        after = {e.candidate_id: e.created for e in reader.evaluations(purpose="search")}
    assert all(after[c] == t for c, t in done.items())  # nothing lost, nothing re-recorded
    sources = [s for s, seeds in zip(ev.calls, ev.seeds_seen) if seeds is None]
    assert len(sources) == len(set(sources))
    reference = _run(grid_problem(tmp_path / "ref"), FakeEvaluator(grid_latency), tmp_path / "ref")
    assert second.best_latency_us == reference.best_latency_us and second.evaluations == reference.evaluations
