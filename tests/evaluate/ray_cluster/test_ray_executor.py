"""Evaluations as Ray tasks on a real local cluster (conftest.py): the verdicts are the local executor's, a
killed Ray worker loses no evaluation, and a knob search finds the same best candidate as a local run."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' or '.[ray]')")

import autocomp  # noqa: E402
from autocomp.evaluate import Evaluator  # noqa: E402
from autocomp.evaluate.executors.ray import RayExecutor  # noqa: E402
from autocomp.problem import Problem  # noqa: E402
from tests.fakes.search import kernel_with, write_problem  # noqa: E402


@pytest.fixture(scope="module")
def scale_add(tmp_path_factory) -> Problem:
    return Problem.load(write_problem(tmp_path_factory.mktemp("problems")))


def test_ray_verdicts_are_the_local_ones(ray_cluster, scale_add, tmp_path):
    executor = RayExecutor(ray_cluster.address)
    assert executor.slots() == 2
    sources = [kernel_with(256), kernel_with(64, scale="3.0"), kernel_with(64, rows="256")]
    local = Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path / "a")
    on_ray = Evaluator("sim", cache=False, cache_dir=tmp_path / "b", executor=executor)
    try:
        here, there = local.evaluate_many(scale_add, sources), on_ray.evaluate_many(scale_add, sources)
    finally:
        local.close()
        on_ray.close()
    assert on_ray.workers == 2  # the cluster's CPUs
    assert [r.status for r in there] == ["correct", "incorrect", "compile_error"]
    assert [(r.status, r.latency_us, r.reason, r.isolation) for r in there] == \
           [(r.status, r.latency_us, r.reason, r.isolation) for r in here]


def test_killing_a_ray_worker_mid_evaluation_loses_no_evaluation(ray_cluster, scale_add, tmp_path):
    ev = Evaluator("sim", cache=False, cache_dir=tmp_path, executor=RayExecutor(ray_cluster.address))
    killed: list[int] = []
    try:
        ev.baseline(scale_add)
        sources = [kernel_with(t) + f"\nVARIANT = {i}\n" for i, t in enumerate((128, 256, 512))]
        done = threading.Event()

        def kill_one_running_task() -> None:
            while not done.is_set() and not killed:  # waits for a task to be running, however slow the machine
                pids = ray_cluster.task_pids()
                if pids:
                    import os
                    import signal

                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_running_task)
        killer.start()
        try:
            results = ev.evaluate_many(scale_add, sources)
        finally:
            done.set()
            killer.join()
    finally:
        ev.close()
    assert killed, "no evaluation task was seen running"
    assert [r.status for r in results] == ["correct"] * 3, [r.reason for r in results]
    assert all(not r.flags for r in results)


def test_knob_search_on_ray_finds_the_local_best(ray_cluster, tmp_path, monkeypatch):
    problem = write_problem(tmp_path / "problems")
    runs = {}
    for executor in ("local", "ray"):
        monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path / f"cache-{executor}"))  # no shared cache hits
        extra = {"ray_address": ray_cluster.address} if executor == "ray" else {}
        runs[executor] = autocomp.optimize(problem, agent="knobs", out=tmp_path / executor, workers=2, seed=11,
                                           iterations=2, revalidate_seeds=1, executor=executor, **extra)
    local, ray = runs["local"], runs["ray"]
    assert ray.status == local.status == "finished"
    assert ray.best_source == local.best_source and ray.best_latency_us == local.best_latency_us
    assert ray.evaluations == local.evaluations and ray.revalidated is local.revalidated is True
