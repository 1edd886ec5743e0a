"""Spare workers: started ahead of need, used once, cleaned up; job directories of dead evaluators are swept."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.evaluate.jobs import OWNER_NAME, sweep_stale_job_dirs, unprivileged_ids
from autocomp.evaluate.sandbox import _wait, group_alive, live_workers
from tests.fakes.eval_support import kernel_source, problem


def test_spares_are_single_use_and_closed_with_the_evaluator(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    before = live_workers()
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, work_dir=str(jobs), prespawn=True,
                   drop_privileges=False)  # pytest's tmp_path is private to root
    ev.baseline(problem("ew_muladd"))
    assert ev.warm_up()
    spares = live_workers() - before
    assert len(spares) == 1
    result = ev.evaluate(problem("ew_muladd"), kernel_source("honest/muladd_isa.py"))
    assert result.status == "correct"
    assert result.timings["worker_startup"] < result.timings["process"]  # imports were done before the candidate
    assert not spares & live_workers()  # the spare ran this candidate and is gone
    ev.close()
    assert not (live_workers() - before)
    assert all(not group_alive(pid) for pid in spares)
    assert list(jobs.iterdir()) == []


def test_a_work_dir_the_worker_user_cannot_reach_is_refused(tmp_path):
    if unprivileged_ids() is None:
        pytest.skip("privileges are only dropped when running as root")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(EvaluatorError, match="cannot reach it"):  # without a sandbox, which would bind it in
        Evaluator("sim", cache=False, cache_dir=tmp_path, work_dir=str(private), isolation="none")
    Evaluator("sim", cache=False, cache_dir=tmp_path, work_dir=str(private)).close()  # sandboxed: it is bound


def test_spares_outlive_the_threads_that_started_them(tmp_path):
    """Workers die with their parent through PR_SET_PDEATHSIG, which fires when the *thread* that started them
    ends: spares are started by short-lived threads, so the sandbox must start them from a lasting one."""
    before = live_workers()
    ev = Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path, prespawn=True)
    try:
        assert ev.warm_up(timeout_s=300)
        for thread in threading.enumerate():
            if thread.name == "autocomp-spawn":
                thread.join()
        spares = [w for _, w in ev._pool._ready]
        assert len(spares) == 2 and {w.proc.pid for w in spares} == live_workers() - before
        for worker in spares:  # a spare killed with its thread would be dead long before this
            assert not _wait(worker.proc, 2.0), f"spare {worker.proc.pid} died ({worker.proc.returncode})"
    finally:
        ev.close()
    assert not (live_workers() - before)


def test_job_directories_of_dead_evaluators_are_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, mine = tmp_path / "autocomp-eval-stale", tmp_path / "autocomp-eval-mine"
    for d, pid in ((stale, dead.pid), (mine, os.getpid())):
        (d / "work").mkdir(parents=True)
        (d / OWNER_NAME).write_text(str(pid))
    assert sweep_stale_job_dirs(str(tmp_path)) == 1
    assert not stale.exists() and mine.exists()
