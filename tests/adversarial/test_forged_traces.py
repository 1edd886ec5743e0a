"""A worker taken over by its candidate can write any trace file it likes. These fake workers
(tests/fakes/lying_backend.py) write forged ones, and the parent, which times only what it has checked,
refuses each with the rule it breaks; then an evaluator with a lying measuring half is refused by physics.
Every evaluation leaves no job directory and no process behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from tests.fakes.eval_support import problem
from tests.fakes.lying_backend import ForgedTraceBackend

FORGERIES = {
    "line_outside_kernel": "outside the kernel file's",
    "foreign_file": "names source file '/usr/lib/python3/dist-packages/other.py'",
    "missing_output_writes": "does not produce the whole output",
    "wrong_input_shape": "shows inputs [float32[512, 128], float32[256, 128]] but the job passed "
                         "[float32[256, 128], float32[256, 128]]",
    "dropped_compute": "before any instruction wrote it",
    "garbage_file": "trace file is unusable: not a trace file",
}


def _children() -> set[int]:
    """Live processes whose parent is this test process (exited ones not yet reaped are not running)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(parent) == os.getpid() and state != "Z":
            out.add(int(stat.parent.name))
    return out


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_trace_is_refused_and_leaves_nothing_behind(forgery, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o755)
    before = _children()
    ev = Evaluator(ForgedTraceBackend(forgery), workers=1, cache=False, cache_dir=tmp_path / "cache",
                   work_dir=str(work), timeout_s=60, prespawn=False)
    r = ev.evaluate(problem("ew_muladd"), problem("ew_muladd").baseline_source + "\n# FORGE\n")
    ev.close()
    assert r.status == "rejected", r.reason
    assert FORGERIES[forgery] in r.reason and "\n" not in r.reason
    assert r.latency_us is None and r.reason.startswith("the check run's trace")
    assert list(work.iterdir()) == []
    assert _children() <= before
