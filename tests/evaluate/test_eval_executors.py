"""The executor seam without Ray: a job run through node.run_job (the path a Ray task takes) gets the verdict a
local worker gets, a host that cannot run a job as asked refuses it, and only plain files come back."""

from __future__ import annotations

import dataclasses
import os

import pytest

from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.evaluate.executors.local import HostExecutor
from autocomp.evaluate.executors.node import collect_outputs, place_outputs
from autocomp.evaluate.result import FLAG_TOOL_ERROR
from autocomp.problem import Problem
from tests.fakes.search import kernel_with, write_problem


@pytest.fixture(scope="module")
def scale_add(tmp_path_factory) -> Problem:
    return Problem.load(write_problem(tmp_path_factory.mktemp("problems")))


def _verdicts(results):
    return [(r.status, r.latency_us, r.reason, r.isolation) for r in results]


def test_a_job_run_through_the_host_path_gets_the_local_verdict(scale_add, tmp_path):
    sources = [kernel_with(128), kernel_with(64, scale="3.0"), kernel_with(64, rows="256")]
    local = Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path / "a")
    remote = Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path / "b", executor=HostExecutor(2))
    try:
        here, there = local.evaluate_many(scale_add, sources), remote.evaluate_many(scale_add, sources)
    finally:
        local.close()
        remote.close()
    assert [r.status for r in here] == ["correct", "incorrect", "compile_error"]
    assert _verdicts(there) == _verdicts(here)
    assert there[0].speedup == here[0].speedup and there[0].profile == here[0].profile


class _Altered(HostExecutor):
    """A host that differs from the evaluator's: untrusted candidates' jobs (``only_untrusted``) or all jobs
    arrive changed by ``change``."""

    def __init__(self, only_untrusted: bool, **change):
        super().__init__(1)
        self.only_untrusted, self.change = only_untrusted, change

    def run(self, job):
        if job.require_sandbox or not self.only_untrusted:
            job = dataclasses.replace(job, **self.change)
        return super().run(job)


def test_a_host_without_a_sandbox_refuses_an_untrusted_candidate(scale_add, tmp_path):
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, executor=_Altered(True, isolation="none"))
    try:
        assert ev.baseline(scale_add).status == "correct"  # the problem's own kernel may run unsandboxed
        result = ev.evaluate(scale_add, kernel_with(128) + "\nEXTRA = 1\n")
    finally:
        ev.close()
    assert result.status == "runtime_error" and FLAG_TOOL_ERROR in result.flags
    assert "no sandbox for an untrusted candidate" in result.reason


def test_a_host_with_another_autocomp_refuses_every_job(scale_add, tmp_path):
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path,
                   executor=_Altered(False, tool_version="0.0.0+elsewhere"))
    try:
        with pytest.raises(EvaluatorError, match="runs another autocomp or toolchain"):
            ev.baseline(scale_add)
    finally:
        ev.close()


def test_only_plain_files_come_back_from_a_host_within_the_cap(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    (out / "seed0_out0.npy").write_bytes(b"x" * 100)
    (out / "big.npy").write_bytes(b"x" * (2 << 20))
    (out / "sub").mkdir()
    os.symlink("/etc/passwd", out / "link.npy")
    (out / "bad name.npy").write_bytes(b"")
    files = collect_outputs(out, limit_mb=1)
    assert set(files) == {"report.json", "seed0_out0.npy"}  # big.npy sorts first and is over the cap: skipped
    dest = tmp_path / "dest"
    dest.mkdir()
    place_outputs({**files, "../escape.npy": b"", "a/b.npy": b""}, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["report.json", "seed0_out0.npy"]
    assert not (tmp_path / "escape.npy").exists()
