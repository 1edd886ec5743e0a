"""The hw backend's device steps sent to a cluster's NeuronCores (executors/devices.py), without Ray: the node side
(run_device_job, what a Ray task runs) called in this process on the core the scheduler would have given it. The
NEFF travels as bytes, outputs and timings come back as data, the place of measurement is recorded, and a device
fault stays the candidate's while a broken node is a tool error. The Ray cluster tests run the same path on real
nodes (tests/evaluate/ray_cluster/test_ray_neuron_cores.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from autocomp.evaluate.backends import get_backend
from autocomp.evaluate.backends.hw import HwBackend
from autocomp.evaluate.device_capture import NTFF_FILE, PROFILE_FILES, STAGED_MARKER
from autocomp.evaluate.executors.devices import ClusterDevices, DeviceOutcome, assigned_core, run_device_job
from autocomp.evaluate.result import FLAG_TOOL_ERROR
from tests.fakes.eval_support import problem
from tests.fakes.fake_hw_sdk import device_log, make_fake_sdk

ADD = problem("v2_add")
BASELINE = ADD.baseline_source
NODE = {"node_id": "f" * 56, "node_ip": "10.0.0.7"}


class OneNode:
    """An executor whose one node runs device jobs in this process, on NeuronCore ``core`` (as Ray would set
    NEURON_RT_VISIBLE_CORES for the task); ``change`` alters each job on its way (another driver's version)."""

    def __init__(self, core: int, monkeypatch, **change):
        self.core, self.monkeypatch, self.change, self.jobs = core, monkeypatch, change, []

    def run_device(self, job):
        self.jobs.append(job)
        self.monkeypatch.setenv("NEURON_RT_VISIBLE_CORES", str(self.core))
        return run_device_job(dataclasses.replace(job, **self.change), **NODE)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdk")
    return root, make_fake_sdk(root, cores=4, missing=("neuron-ls",))  # the driver needs no neuron-ls


def _evaluator(sdk, node: OneNode) -> Evaluator:
    backend = HwBackend(**sdk[1])
    backend.use_devices(ClusterDevices(node))
    assert backend.available() == (True, "")
    return Evaluator(backend, workers=1, cache=False, timeout_s=120)


def test_device_steps_run_on_the_nodes_core_and_record_where(sdk, monkeypatch):
    node = OneNode(3, monkeypatch)
    ev = _evaluator(sdk, node)
    try:
        r = ev.evaluate(ADD, BASELINE + "\n# on a node\n")
    finally:
        ev.close()
    assert r.status == "correct" and r.evidence == "hw", r.reason
    assert r.max_abs is not None and r.max_abs < 1e-5  # compared on the driver, from the outputs sent back
    assert (r.profile["neuron_core"], r.profile["node_ip"], r.profile["node_id"]) == (3, "10.0.0.7", "f" * 56)
    assert r.profile["checked_on"] == {"node_id": "f" * 56, "node_ip": "10.0.0.7", "neuron_core": 3}
    assert r.profile["sdk"] == {"nki": "0.7.0", "nrtpy": "0.7.0"}
    assert [j.op for j in node.jobs][-2:] == ["run", "measure"]
    assert all(j.neffs and all(isinstance(b, bytes) for b in j.neffs.values()) for j in node.jobs)
    ran = [rec for rec in device_log(sdk[0]) if rec["event"] in ("execute", "benchmark")]
    assert ran and {rec["cores"] for rec in ran} == {"3"}  # the core the task was given, nothing else


def test_a_profile_captured_on_a_node_is_staged_on_the_driver_for_the_run_store(sdk, monkeypatch):
    backend = HwBackend(**sdk[1], profile=True)
    backend.use_devices(ClusterDevices(OneNode(2, monkeypatch)))
    ev = Evaluator(backend, workers=1, cache=False, timeout_s=120)
    try:
        r = ev.evaluate(ADD, BASELINE + "\n# profiled on a node\n")
        assert r.status == "correct", r.reason
        (entry,) = r.device_profiles
        staged = Path(entry["staged"])
        assert staged.is_dir() and staged.parent == backend._capture_root()  # the driver's own staging
        assert {f.name for f in staged.iterdir()} == {*PROFILE_FILES, STAGED_MARKER}
        assert json.loads((staged / NTFF_FILE).read_text())["cores"] == "2"  # captured on the node's core
        assert (entry["neuron_core"], entry["node_ip"]) == (2, "10.0.0.7")
        assert r.profile["profiled_cores"] == "2" and r.profile_id
    finally:
        ev.close()
    assert not staged.exists()  # nothing outlives the evaluator when no run store took it


def test_a_device_fault_on_a_node_is_the_candidates_runtime_error(sdk, monkeypatch):
    ev = _evaluator(sdk, OneNode(0, monkeypatch))
    try:
        r = ev.evaluate(ADD, BASELINE + "\nFAKE_DEVICE_FAULT = True\n")
    finally:
        ev.close()
    assert r.status == "runtime_error" and "NRT_EXEC" in r.reason and "10.0.0.7" in r.reason
    assert FLAG_TOOL_ERROR not in r.flags


def test_a_node_with_another_toolchain_is_a_tool_error_never_the_candidates(sdk, monkeypatch):
    node = OneNode(0, monkeypatch)
    ev = _evaluator(sdk, node)
    try:
        ev.baseline(ADD)
        node.change = {"tool_version": "nki-0.8.0+nrtpy-0.8.0+autocomp-other"}  # as if the node had another SDK
        r = ev.evaluate(ADD, BASELINE + "\n# elsewhere\n")
    finally:
        ev.close()
    assert r.status == "runtime_error" and FLAG_TOOL_ERROR in r.flags  # not a verdict: never cached
    assert "another Neuron SDK or autocomp" in r.reason and "install the same versions" in r.reason


def test_a_task_without_a_single_neuron_core_says_which_variable(monkeypatch):
    monkeypatch.delenv("NEURON_RT_VISIBLE_CORES", raising=False)
    with pytest.raises(ValueError, match="NEURON_RT_VISIBLE_CORES"):
        assigned_core()
    assert assigned_core({"NEURON_RT_VISIBLE_CORES": "5"}) == 5
    with pytest.raises(ValueError, match="no single NeuronCore"):
        assigned_core({"NEURON_RT_VISIBLE_CORES": "0,1"})


def test_node_answers_become_the_drivers_errors():
    from autocomp.evaluate.device_fleet import DeviceToolError
    from autocomp.evaluate.protocol import KernelFault

    class Answers:
        def __init__(self, outcome):
            self.outcome = outcome

        def run_device(self, job):
            return self.outcome

    backend = type("B", (), {"options": lambda self: {}, "tool_version": lambda self: "v"})()
    where = {"node_ip": "10.0.0.8", "node_id": "abc", "core": 2}
    with pytest.raises(KernelFault, match=r"NRT failed \(on node 10\.0\.0\.8 \(abc\) NeuronCore 2\)"):
        ClusterDevices(Answers(DeviceOutcome("fault", "NRT failed", **where))).measure(backend, None, {})
    with pytest.raises(DeviceToolError, match="on node 10.0.0.8 .*nrtpy missing"):
        ClusterDevices(Answers(DeviceOutcome("tool", "nrtpy missing", **where))).measure(backend, None, {})


def test_without_neuron_cores_in_the_cluster_the_run_is_refused_saying_how_to_declare_them():
    from autocomp.search.config import SearchConfig
    from autocomp.search.runner import SearchError, hardware_evaluator

    class NoCores:
        name = "ray"

        def neuron_cores(self) -> int:
            return 0

    declare = r"`neuron_cores` resource.*ray start .*--resources='\{\"neuron_cores\": N\}'"
    with pytest.raises(SearchError, match=declare):
        hardware_evaluator(SearchConfig(backend="hw"), "trn1", executor=NoCores())


def test_without_a_dispatcher_the_driver_still_needs_neuron_ls(sdk):
    with pytest.raises(Exception, match="neuron-ls"):  # this driver has no neuron-ls: locally it must have one
        get_backend("hw", **sdk[1])
