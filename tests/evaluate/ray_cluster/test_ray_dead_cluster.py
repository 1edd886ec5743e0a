"""A Ray cluster that dies mid-run: `autocomp optimize --executor ray` stops resumably with every finished
evaluation kept, and `--resume` finishes the run locally. The run is a CLI process of its own (Ray ends a
driver process that stays connected to a dead head); its cluster is started and killed by this test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' or '.[ray]')")

import autocomp  # noqa: E402
from autocomp.store import RunReader  # noqa: E402
from tests.evaluate.ray_cluster.conftest import start_cluster, stop  # noqa: E402
from tests.fakes.search import write_problem  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def _search_evaluations(runs: Path) -> dict[int, str]:
    dirs = [d for d in runs.iterdir() if d.is_dir()] if runs.is_dir() else []
    if len(dirs) != 1:
        return {}
    try:
        with RunReader.open_readonly(dirs[0]) as reader:
            return {e.candidate_id: e.created for e in reader.evaluations(purpose="search")}
    except Exception:  # noqa: BLE001 - the run is still being created
        return {}


def test_a_dead_cluster_stops_the_run_and_resume_finishes_it(tmp_path, monkeypatch):
    problem = write_problem(tmp_path / "problems")
    runs = tmp_path / "runs"
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(cache))
    cluster = start_cluster()
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.Popen([sys.executable, "-m", "autocomp.cli", "optimize", str(problem), "--agent", "knobs",
                                 "--executor", "ray", "--ray-address", cluster.address, "--runs-dir", str(runs),
                                 "--workers", "1", "--seed", "5", "--iterations", "3", "--json", "--quiet"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 240
        # The cluster dies as soon as the baseline is committed: the knob candidates (each a Ray task of a second
        # or more) are still to come, so the run cannot have finished in the 0.2 s between looks.
        while not _search_evaluations(runs) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster.kill()
        out, err = proc.communicate(timeout=240)
    finally:
        stop(cluster)
    assert proc.returncode == 130, (out[-2000:], err[-2000:])
    stopped = json.loads(out)
    assert stopped["status"] == "interrupted" and "Ray cluster" in stopped["stop_reason"]
    assert "--resume" in stopped["stop_reason"]
    before = _search_evaluations(runs)
    assert len(before) >= 1
    with RunReader.open_readonly(stopped["run_dir"]) as reader:
        assert reader.info.status == "interrupted"
    resumed = autocomp.optimize(resume=stopped["run_dir"], executor="local", out=runs)
    assert resumed.status == "finished" and resumed.best_source is not None
    after = _search_evaluations(runs)
    assert all(after[c] == t for c, t in before.items())  # nothing lost, nothing re-recorded
