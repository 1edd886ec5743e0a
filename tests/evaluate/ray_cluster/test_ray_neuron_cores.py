"""`--backend hw --executor ray` on a real multi-node cluster on 127.0.0.1 (a head without CPUs, where the driver
attaches, and two worker nodes with one CPU and two `neuron_cores` each) and the fake current SDK: the sim triage
and the compiles run on the worker nodes' CPUs, every device step is a task on a NeuronCore of a worker node, the
device work covers both nodes, and each hw result says where it was measured."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' or '.[ray]')")

import autocomp  # noqa: E402
from autocomp.evaluate import Evaluator  # noqa: E402
from autocomp.evaluate.device_capture import NTFF_FILE  # noqa: E402
from autocomp.evaluate.executors.ray import RayExecutor  # noqa: E402
from autocomp.problem import Problem  # noqa: E402
from autocomp.store import RunReader  # noqa: E402
from autocomp.store.reader import HW  # noqa: E402
from autocomp.store.tiers import tier_rows  # noqa: E402
from tests.fakes.fake_hw_sdk import device_log, make_fake_sdk, write_hw_problem  # noqa: E402


class Recording:
    """The executor, noting the node each job's worker ran on."""

    name = "ray"

    def __init__(self, executor):
        self.executor, self.nodes = executor, []

    def slots(self) -> int:
        return self.executor.slots()

    def run(self, job):
        outcome = self.executor.run(job)
        self.nodes.append(outcome.node)
        return outcome

    def close(self) -> None:
        self.executor.close()


def test_sim_evaluations_run_on_the_worker_nodes_cpus(fleet, tmp_path):
    problem = Problem.load(write_hw_problem(tmp_path))
    executor = Recording(RayExecutor(fleet.address))
    ev = Evaluator("sim", cache=False, cache_dir=tmp_path / "cache", executor=executor)
    try:
        sources = [problem.baseline_source.replace("TILE_F = 128", f"TILE_F = {n}") for n in (256, 512, 1024)]
        results = ev.evaluate_many(problem, sources)
    finally:
        ev.close()
    assert ev.workers == 2  # as many at once as the cluster has CPUs (the head has none)
    assert [r.status for r in results] == ["correct"] * 3, [r.reason for r in results]
    worker_ids = {w["id"] for w in fleet.workers}
    assert executor.nodes and set(executor.nodes) <= worker_ids  # never on the driver's node


def test_optimize_on_hw_over_ray_measures_on_both_worker_nodes(fleet, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path / "cache"))
    sdk_root = tmp_path / "sdk"
    sdk_root.mkdir()
    opts = make_fake_sdk(sdk_root, cores=2)
    problem = write_hw_problem(tmp_path / "problems")
    result = autocomp.optimize(problem, agent="knobs", backend="hw", executor="ray", ray_address=fleet.address,
                               sdk_pythonpath=opts["compile_pythonpath"], runtime_pythonpath=opts["runtime_pythonpath"],
                               sdk_path=opts["path"], iterations=2, beam=2, workers=2, hw_top_k=2, seed=3,
                               hw_profile=True, out=tmp_path / "runs")
    assert result.status == "finished" and result.evidence == "hw", result.stop_reason
    run_dir = next((tmp_path / "runs").iterdir())
    with RunReader.open_readonly(run_dir) as reader:
        rows = {row["id"]: row for row in tier_rows(reader)}
        hw_evals = reader.evaluations(purpose=HW)
        baseline_id = next(c.id for c in reader.candidates() if c.origin == "baseline")
    # No evaluation lost: every candidate triaged in sim, every one selected measured, none a tool failure.
    assert all(row["sim_status"] == "correct" for row in rows.values())
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    selected = {c for e in events if e["kind"] == "hw_selected" for c in e["candidates"]}
    measured = {i for i, row in rows.items() if row["hw_status"] is not None}
    assert measured == selected | {baseline_id} and len(measured) >= 3
    assert all(e.status == "correct" and "tool_error" not in e.result.get("flags", []) for e in hw_evals)

    # Where each was measured and checked: a NeuronCore of a worker node, never the driver's node. Device steps
    # are spread over the nodes: the baseline's check and benchmark (alone on the device, before any candidate's)
    # land on different nodes, so the recorded places cover both.
    worker_ids = {w["id"] for w in fleet.workers}
    assert all(rows[i]["hw_node_ip"] == "127.0.0.1" and rows[i]["hw_core"] in (0, 1) for i in measured)
    checked = [e.result["profile"]["checked_on"] for e in hw_evals]
    assert all(c["node_ip"] == "127.0.0.1" and c["neuron_core"] in (0, 1) for c in checked)
    assert {rows[i]["hw_node_id"] for i in measured} | {c["node_id"] for c in checked} == worker_ids
    # The Neuron Explorer capture of each measurement came back from its node and is kept in the run.
    for e in hw_evals:
        (capture,) = e.result["device_profiles"]
        assert capture["node_id"] in worker_ids and (run_dir / capture["path"] / NTFF_FILE).is_file()
    benchmarks = [r for r in device_log(sdk_root) if r["event"] == "benchmark"]
    assert {r["cores"] for r in benchmarks} <= {"0", "1"}  # the core Ray gave each task
    assert len(benchmarks) == len(measured) + (1 if result.revalidated else 0)  # each once, nothing lost or redone

    from typer.testing import CliRunner

    from autocomp.cli import app

    text = CliRunner().invoke(app, ["runs", "show", "--runs-dir", str(tmp_path / "runs"), run_dir.name]).output
    assert "on 127.0.0.1 (" in text and " core " in text
