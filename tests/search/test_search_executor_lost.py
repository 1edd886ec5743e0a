"""Execution hosts lost mid-run (executors.ExecutorLost, e.g. a dead Ray cluster): the run stops as interrupted
with the reason, keeps every committed evaluation, records none for the lost one, and --resume finishes it."""

from __future__ import annotations

import sys
import threading

import pytest

import autocomp
from autocomp.evaluate.executors import ExecutorLost
from autocomp.search.config import ConfigError
from autocomp.search.runner import SearchError
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator, grid_latency, grid_problem


class LosesHostsAt(FakeEvaluator):
    """Evaluates normally until its ``n``-th search evaluation, which finds the hosts gone."""

    def __init__(self, n: int):
        super().__init__(grid_latency)
        self.n, self.count, self.lost = n, 0, []
        self._count_lock = threading.Lock()

    def evaluate(self, problem, source, *, seeds=None):
        with self._count_lock:
            self.count += 1
            lose = self.count == self.n
        if lose:
            self.lost.append(source)
            raise ExecutorLost("the Ray cluster at 127.0.0.1:1 stopped answering; continue with --resume RUN")
        return super().evaluate(problem, source, seeds=seeds)


def test_lost_hosts_stop_the_run_resumably_and_lose_nothing(tmp_path):
    problem = grid_problem(tmp_path)
    ev = LosesHostsAt(4)
    first = autocomp.optimize(problem, agent="knobs", evaluator=ev, out=tmp_path / "runs", workers=1)
    assert first.status == "interrupted" and "Ray cluster" in first.stop_reason
    with RunReader.open_readonly(first.run_dir) as reader:
        assert reader.info.status == "interrupted" and "--resume" in reader.info.status_reason
        done = {e.candidate_id: e.created for e in reader.evaluations()}
        lost = [c.id for c in reader.candidates() if not c.evaluated]
    assert len(done) == 3 and len(lost) >= 1  # the lost evaluation is pending, not recorded as a verdict
    second = autocomp.optimize(resume=first.run_dir, evaluator=FakeEvaluator(grid_latency), out=tmp_path / "runs")
    assert second.status == "finished"
    with RunReader.open_readonly(second.run_dir) as reader:
        after = {e.candidate_id: e.created for e in reader.evaluations(purpose="search")}
    assert all(after[c] == t for c, t in done.items()) and all(c in after for c in lost)


def test_executor_ray_without_ray_installed_says_how_to_install_and_leaves_no_run(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is not installed
    with pytest.raises(SearchError, match=r"pip install 'autocomp\[ray\]'"):
        autocomp.optimize(grid_problem(tmp_path), agent="knobs", executor="ray", out=tmp_path / "runs")
    assert not any((tmp_path / "runs").glob("*/run.sqlite"))


def test_an_unknown_executor_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="executor"):
        autocomp.optimize(grid_problem(tmp_path), agent="knobs", executor="dask", out=tmp_path / "runs")
