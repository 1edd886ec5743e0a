"""The hw backend's device work on a cluster's NeuronCores: each check run and each benchmark of a compiled kernel
is one task that holds one NeuronCore (Ray's ``neuron_cores`` resource), so it lands on a free core of any node.

Driver side, :class:`ClusterDevices` is the hw backend's device dispatcher (``HwBackend.use_devices``): it sends
the NEFF the backend has already checked (as bytes), the inputs and the request, and gets back data: each seed's
raw-read outputs, or the ``Timing``, and where they were measured. Comparing the outputs with the references and
the verdict stay on the driver (verdict.py), as for a local device run.

Node side, :func:`run_device_job` runs in the task's process, which runs autocomp's own code and never candidate
code: it takes the core the scheduler gave the task (``NEURON_RT_VISIBLE_CORES``, which Ray sets for a task that
holds ``neuron_cores``), writes the NEFF into a private directory and runs the hw backend's own device path on
that core (device_fleet.py: one device worker, started for the task and ended with it, so the core is free
again when the task ends) (docs/evaluation.md#running-evaluations-on-a-ray-cluster).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from autocomp.evaluate.executors.node import FILE_NAME, options_key
from autocomp.evaluate.protocol import KernelFault, Timing, TimingRequest

VISIBLE_CORES_VAR = "NEURON_RT_VISIBLE_CORES"


@dataclass
class DeviceJob:
    """One device step of one evaluation, as data: what a node needs to run it, nothing of the problem."""

    op: Literal["run", "measure"]  # the check NEFF on every seed's inputs, or the benchmark (and profile)
    backend_options: dict  # the hw backend's (runtime interpreter and paths, benchmark settings)
    tool_version: str  # the driver's: a node with another SDK or autocomp would measure something else
    neffs: dict[str, bytes]  # file name -> the compiled kernel, as the backend checked it on the driver
    request: TimingRequest  # its ``artifacts`` is replaced by the node's own directory
    inputs: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)  # "run": each seed's inputs
    expected: list = field(default_factory=list)  # "run": each output's (shape, dtype names to read it as)


@dataclass
class DeviceOutcome:
    """What a node's device task answers. ``kind``: "ok" (``value`` is the outputs by seed, or the Timing),
    "fault" (the NEFF failed on the device: the candidate's runtime error), "tool" (the node's device tools or
    setup failed: not the candidate's fault); ``value`` is then the message."""

    kind: Literal["ok", "fault", "tool"]
    value: Any = None
    node_id: str = ""
    node_ip: str = ""
    core: int | None = None
    capture: dict[str, bytes] = field(default_factory=dict)  # "measure" with --hw-profile: the capture's files

    def where(self) -> str:
        core = f" NeuronCore {self.core}" if self.core is not None else ""
        return f"node {self.node_ip or '?'} ({self.node_id[:12] or 'unknown id'}){core}"


class ClusterDevices:
    """The hw backend's device dispatcher onto an executor's NeuronCores (``executor.run_device``).

    The check runs and the benchmark of one evaluation are two tasks, each on whichever core is free then. The
    result records where it was measured (the benchmark's node and core: ``node_id``, ``node_ip``,
    ``neuron_core``) and where its outputs were checked (``checked_on``).
    """

    KEEP_CHECKED = 1024  # evaluations whose check ran and whose benchmark has not (yet): an incorrect one never has

    def __init__(self, executor):
        self.executor = executor
        self._checked: OrderedDict[str, dict] = OrderedDict()  # job nonce -> where its check ran
        self._lock = threading.Lock()

    def run_on_device(self, backend, request: TimingRequest, neffs: dict[str, Path],
                      inputs: dict[int, tuple[np.ndarray, ...]], expected: list) -> dict[int, list]:
        outcome = self._send(backend, "run", request, neffs, inputs=inputs, expected=expected)
        with self._lock:
            self._checked[request.job.nonce] = {"node_id": outcome.node_id, "node_ip": outcome.node_ip,
                                                "neuron_core": outcome.core}
            while len(self._checked) > self.KEEP_CHECKED:
                self._checked.popitem(last=False)
        return outcome.value

    def measure(self, backend, request: TimingRequest, neffs: dict[str, Path]) -> Timing:
        outcome = self._send(backend, "measure", request, neffs)
        timing: Timing = outcome.value
        with self._lock:
            checked = self._checked.pop(request.job.nonce, None)
        # Where it was measured, beside the core the node's device path already records (neuron_core).
        where = {"node_id": outcome.node_id, "node_ip": outcome.node_ip}
        timing.summary.update(where)
        if checked is not None:
            timing.summary["checked_on"] = checked
        if outcome.capture:  # the node's Neuron Explorer capture, staged here for the run store
            try:
                staged = backend.stage_capture(outcome.capture)
                timing.device_profile = {**timing.device_profile, **where, "staged": str(staged)}
            except OSError as e:  # the capture is lost, never the measurement
                timing.device_profile = {"error": f"the capture from {outcome.where()} could not be kept: {e}",
                                         "neuron_core": outcome.core}
        return timing

    def _send(self, backend, op: str, request: TimingRequest, neffs: dict[str, Path], **data) -> DeviceOutcome:
        from autocomp.evaluate.device_fleet import DeviceToolError

        job = DeviceJob(op=op, backend_options=backend.options(), tool_version=backend.tool_version(),
                        neffs={name: path.read_bytes() for name, path in neffs.items()}, request=request, **data)
        outcome = self.executor.run_device(job)  # ExecutorLost (the cluster is gone) stops the run resumably
        if outcome.kind == "fault":
            raise KernelFault(f"{outcome.value} (on {outcome.where()})")
        if outcome.kind != "ok":
            raise DeviceToolError(f"on {outcome.where()}: {outcome.value}")
        return outcome


@lru_cache(maxsize=4)
def _hw_backend(key: tuple):
    """This process's hw backend for the driver's options: its SDK detection and tool version, kept across tasks."""
    from autocomp.evaluate.backends import create_backend

    return create_backend("hw", **dict(key))


def assigned_core(env=None) -> int:
    """The one NeuronCore the scheduler gave this task; ValueError when it gave none or several."""
    visible = (os.environ if env is None else env).get(VISIBLE_CORES_VAR)
    ids = [c.strip() for c in (visible or "").split(",") if c.strip()]
    if len(ids) != 1 or not ids[0].isdigit():
        raise ValueError(f"the task holds no single NeuronCore ({VISIBLE_CORES_VAR}={visible!r}); Ray sets it for "
                         "a task with a neuron_cores resource unless RAY_EXPERIMENTAL_NOSET_NEURON_RT_VISIBLE_CORES "
                         "is set on the node")
    return int(ids[0])


def _take_capture(timing: Timing) -> dict[str, bytes]:
    """The files of the Neuron Explorer capture ``timing`` staged on this node (none: {}), its entry left without
    the node's path; the driver stages them again for its run store."""
    from autocomp.evaluate.device_capture import PROFILE_FILES, STAGED_MARKER

    staged = timing.device_profile.get("staged")
    if not isinstance(staged, str):
        return {}
    timing.device_profile = {k: v for k, v in timing.device_profile.items() if k != "staged"}
    directory = Path(staged)
    try:
        if (directory / STAGED_MARKER).is_file():
            return {name: (directory / name).read_bytes() for name in PROFILE_FILES
                    if (directory / name).is_file() and not (directory / name).is_symlink()}
    except OSError as e:  # the capture is lost, never the measurement
        timing.device_profile = {"error": f"the capture could not be read on the node: {e}",
                                 "neuron_core": timing.device_profile.get("neuron_core")}
    return {}


def run_device_job(job: DeviceJob, *, node_id: str = "", node_ip: str = "") -> DeviceOutcome:
    """Run ``job`` on this task's NeuronCore through the hw backend's local device path; never raises."""
    where = {"node_id": node_id, "node_ip": node_ip or socket.gethostname()}
    host = where["node_ip"]
    try:
        core = assigned_core()
    except ValueError as e:
        return DeviceOutcome("tool", str(e), **where)
    where["core"] = core
    try:
        base = _hw_backend(options_key(job.backend_options))
        mine = base.tool_version()
        if mine != job.tool_version:
            return DeviceOutcome("tool", f"host {host} has another Neuron SDK or autocomp ({mine}) than the driver "
                                         f"({job.tool_version}); install the same versions on every node", **where)
        backend = base.on_core(core)
        with tempfile.TemporaryDirectory(prefix="autocomp-neff-") as tmp:
            os.chmod(tmp, 0o755)  # the device worker reads the NEFF and writes outputs here
            for name, data in job.neffs.items():
                if not FILE_NAME.fullmatch(name):
                    return DeviceOutcome("tool", f"the driver sent a NEFF named {name!r}", **where)
                (Path(tmp) / name).write_bytes(data)
            request = job.request.model_copy(update={"artifacts": tmp})
            capture: dict[str, bytes] = {}
            try:
                if job.op == "run":
                    value = backend.run_on_device(request, job.inputs, job.expected)
                else:
                    value = backend.measure(request)
                    capture = _take_capture(value)
            finally:
                # The core's device worker ends with the task (the next task may get this core), and the
                # capture's staging directory on this node with it: its files travel in the answer.
                backend.close()
        return DeviceOutcome("ok", value, capture=capture, **where)
    except KernelFault as e:
        return DeviceOutcome("fault", str(e), **where)
    except Exception as e:  # noqa: BLE001 - the device tools, the SDK or this node: reported, never the candidate's
        return DeviceOutcome("tool", f"{type(e).__name__}: {e}"[:500], **where)
