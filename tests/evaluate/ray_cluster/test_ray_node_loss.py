"""A Trainium node lost in the middle of device work loses no evaluation: the task is retried on another node.

No clock decides anything here: the fake SDK holds every benchmark (tests/fakes/fake_hw_sdk.py: ``hold``) until the
test has killed the node that one of them runs on (its raylet and every process under it, at once), then lets them
all go. The cluster is one no other test uses after this one (conftest.py: ``fleet_to_lose_a_node``): a node of
it dies."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' or '.[ray]')")

from autocomp.evaluate import Evaluator  # noqa: E402
from autocomp.evaluate.backends.hw import HwBackend  # noqa: E402
from autocomp.evaluate.executors.devices import ClusterDevices  # noqa: E402
from autocomp.evaluate.executors.ray import RayExecutor  # noqa: E402
from autocomp.evaluate.result import FLAG_TOOL_ERROR  # noqa: E402
from autocomp.problem import Problem  # noqa: E402
from tests.fakes.fake_hw_sdk import device_log, make_fake_sdk, write_hw_problem  # noqa: E402


def test_a_node_killed_during_a_benchmark_loses_no_evaluation(fleet_to_lose_a_node, tmp_path):
    fleet = fleet_to_lose_a_node
    sdk_root = tmp_path / "sdk"
    sdk_root.mkdir()
    backend = HwBackend(**make_fake_sdk(sdk_root, cores=2))
    executor = RayExecutor(fleet.address)
    backend.use_devices(ClusterDevices(executor))
    problem = Problem.load(write_hw_problem(tmp_path))
    ev = Evaluator(backend, workers=4, cache=False, cache_dir=tmp_path / "cache", executor=executor)
    killed: list[str] = []
    failed: list[BaseException] = []

    def kill_the_node_of_a_held_benchmark() -> None:
        try:
            while not killed:  # until a benchmark is held (however slow the machine)
                held = [r for r in device_log(sdk_root) if r["event"] == "held"]
                node = fleet.node_of(held[0]["pid"]) if held else None
                if node is not None:
                    fleet.kill_worker(node)
                    killed.append(node)
                else:
                    time.sleep(0.1)
        except BaseException as e:  # noqa: BLE001 - reported by the test, after the evaluations
            failed.append(e)
        finally:
            (sdk_root / "release").touch()  # every held benchmark goes on (the killed node's are gone)

    try:
        assert ev.baseline(problem).status == "correct"
        (sdk_root / "hold").touch()
        killer = threading.Thread(target=kill_the_node_of_a_held_benchmark)
        killer.start()
        try:
            sources = [problem.baseline_source.replace("TILE_F = 128", f"TILE_F = {n}") for n in (256, 512, 1024)]
            results = ev.evaluate_many(problem, sources)
        finally:
            killer.join()
    finally:
        ev.close()
    assert not failed, failed
    assert killed, "no benchmark was held"
    assert [r.status for r in results] == ["correct"] * 3, [r.reason for r in results]
    assert all(FLAG_TOOL_ERROR not in r.flags for r in results)
    # Every benchmark was held until the kill, so each was measured after it: on the node that is left.
    survivor = {w["id"] for w in fleet.workers} - set(killed)
    assert {r.profile["node_id"] for r in results} == survivor
