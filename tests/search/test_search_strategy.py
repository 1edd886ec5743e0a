"""The strategy seam (autocomp.search.strategy): the runner drives any registered strategy end to end, checkpoints
name their strategy, old checkpoints load as beam search, and a bad name or a mismatched resume is one clear error."""

from __future__ import annotations

import sqlite3

import pytest

import autocomp
from autocomp.search.config import ConfigError, build_config
from autocomp.search.runner import SearchError
from autocomp.search.selection import rank
from autocomp.search.strategy import STRATEGIES
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator, grid_latency, grid_problem


class Leader:
    """A test strategy: build on the single fastest candidate only, and count the checkpoints it wrote."""

    kind = "leader"
    restored: list[dict] = []

    def __init__(self, options):
        self.hw_margin = options.hw_margin
        self.written = 0

    def select(self, nodes, width, iteration):
        return rank(nodes, iteration=iteration, hw_margin=self.hw_margin)[:1]

    def checkpoint(self, parents):
        self.written += 1
        return {"kind": self.kind, "parents": [n.id for n in parents], "written": self.written}

    def restore(self, state, nodes):
        Leader.restored.append(dict(state))
        self.written = state["written"]
        return [nodes[i] for i in state["parents"] if i in nodes]


@pytest.fixture
def leader(monkeypatch):
    monkeypatch.setitem(STRATEGIES, "leader", Leader)
    Leader.restored = []
    return Leader


def _run(problem, tmp_path, **kw):
    return autocomp.optimize(problem, agent="knobs", evaluator=FakeEvaluator(grid_latency), out=tmp_path / "runs",
                             workers=2, beam=3, knob_batch=3, iterations=4, **kw)


def _stop_at_iteration_2(kind, data):
    if kind == "iteration_start" and data["iteration"] == 2:
        raise KeyboardInterrupt


def _trace(run_dir):
    with RunReader.open_readonly(run_dir) as reader:
        return ([c.source_hash for c in reader.candidates()], [b.state for b in reader.beams()],
                [d.data for d in reader.decisions() if d.kind == "iteration"])


def test_the_runner_drives_a_registered_strategy_and_resumes_it_from_its_checkpoints(tmp_path, leader):
    full = _run(grid_problem(tmp_path / "full"), tmp_path / "full", strategy="leader")
    assert full.status == "finished" and full.iterations == 4
    candidates, states, started = _trace(full.run_dir)
    assert [s["kind"] for s in states] == ["leader"] * 5 and [s["written"] for s in states] == [1, 2, 3, 4, 5]
    assert all(len(s["parents"]) == 1 for s in states) and all(len(d["beam"]) == 1 for d in started)
    assert leader.restored == []

    first = _run(grid_problem(tmp_path / "cut"), tmp_path / "cut", strategy="leader", on_event=_stop_at_iteration_2)
    assert first.status == "interrupted"
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(grid_latency),
                                out=tmp_path / "cut" / "runs")
    assert resumed.status == "finished"
    assert [s["written"] for s in leader.restored] == [2]  # iteration 1 replayed from its checkpoint
    assert _trace(resumed.run_dir) == (candidates, states, started)
    assert resumed.best_latency_us == full.best_latency_us


def test_beam_search_checkpoints_name_it_and_old_ones_without_a_kind_load_as_beam(tmp_path):
    full = _run(grid_problem(tmp_path / "full"), tmp_path / "full")
    first = _run(grid_problem(tmp_path / "cut"), tmp_path / "cut", on_event=_stop_at_iteration_2)
    with sqlite3.connect(first.run_dir / "run.sqlite") as conn:
        assert {r[0] for r in conn.execute("SELECT state_json FROM iterations")} == {'{"kind": "beam"}'}
        conn.execute("UPDATE iterations SET state_json = NULL")  # checkpoints as earlier versions wrote them
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(grid_latency),
                                out=tmp_path / "cut" / "runs")
    assert resumed.status == "finished"
    candidates, states, started = _trace(resumed.run_dir)
    assert (candidates, started) == _trace(full.run_dir)[::2]
    assert states == _trace(full.run_dir)[1] and {s["kind"] for s in states} == {"beam"}


def test_an_unknown_strategy_names_the_known_ones(leader):
    with pytest.raises(ConfigError, match=r"search\.strategy: .*unknown search strategy 'greedy'; known strategies: "
                                          r"beam, leader"):
        build_config(strategy="greedy")


def test_a_run_resumes_only_with_the_strategy_that_checkpointed_it(tmp_path, leader):
    first = _run(grid_problem(tmp_path), tmp_path, on_event=_stop_at_iteration_2)
    with pytest.raises(SearchError, match=r"checkpointed by the 'beam' search strategy, not 'leader': resume it with "
                                          r"\[search\] strategy = 'beam'"):
        autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(grid_latency), out=tmp_path / "runs",
                          strategy="leader")
    resumed = autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(grid_latency), out=tmp_path / "runs")
    assert resumed.status == "finished"
