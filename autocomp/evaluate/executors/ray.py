"""Workers run as Ray tasks on a cluster (``--executor ray [--ray-address ADDR]``; ``pip install 'autocomp[ray]'``).

Each evaluation's sandboxed worker is one Ray task (node.run_job): it asks for one CPU, or for one NeuronCore
(the ``neuron_cores`` resource; Ray sets ``NEURON_RT_VISIBLE_CORES`` for the task) when the backend's worker
itself runs on a device (the legacy neuron backend), so the scheduler places it on a free CPU or core anywhere
in the cluster. The hw backend's device steps (running and timing a compiled NEFF, no candidate Python) are
tasks of their own that hold one NeuronCore and no CPU, spread over the nodes (devices.run_device_job). The
task processes are Ray's, running autocomp's own code; candidate code runs only in the sandbox a task spawns.
The run store, the LLM calls, the search and every trusted step of the evaluation (references, output checks,
the verdict) stay in the driver (docs/evaluation.md#running-evaluations-on-a-ray-cluster).

Failures: a task whose worker process or node dies is retried by Ray (``max_retries``); a job whose retries
are used up, or a cluster that stops answering, raises ExecutorLost, which stops the run resumably.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future

from autocomp.evaluate.executors.base import ExecutorLost
from autocomp.evaluate.executors.devices import DeviceJob, DeviceOutcome, run_device_job
from autocomp.evaluate.executors.node import NodeJob, NodeOutcome, NodeRefused, run_job

NEURON_RESOURCE = "neuron_cores"  # Ray's name for AWS NeuronCores (its accelerator support)
NO_CORES = (f"no node of the Ray cluster has a `{NEURON_RESOURCE}` resource, so no NeuronCore can run the "
            f"hardware measurements; start each Trainium node with `ray start --address=HEAD "
            f"--resources='{{\"{NEURON_RESOURCE}\": N}}'` (N: its NeuronCores), or let Ray count them (it runs "
            "/opt/aws/neuron/bin/neuron-ls when a node starts)")
# Set to 0, Ray keeps every address of a one-machine cluster on 127.0.0.1 (its name is historical).
LOOPBACK_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
INSTALL_HINT = "pip install 'autocomp[ray]'"
# While a job runs, how often the driver checks the cluster still answers (a dead head never answers the get).
HEALTH_PERIOD_S = 5.0
# The evaluator's wall-clock timeout plus this is the longest a job may wait for its answer (queueing included)
# before the driver asks the cluster whether it is alive.
GRACE_S = 30.0


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached; the message says what to do."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--executor ray needs Ray on this machine and on every node: {INSTALL_HINT}") from None
    return ray


def _node() -> tuple[str, str]:
    """(node id, node IP) of the node this task runs on."""
    import ray

    return ray.get_runtime_context().get_node_id(), ray.util.get_node_ip_address()


def _ray_job(job: NodeJob) -> NodeOutcome:
    """The task body, module-level so every node imports it from its own autocomp."""
    outcome = run_job(job)
    outcome.node = _node()[0]
    return outcome


def _ray_device_job(job: DeviceJob) -> DeviceOutcome:
    """A device step's task body: on the NeuronCore Ray gave this task."""
    node_id, node_ip = _node()
    return run_device_job(job, node_id=node_id, node_ip=node_ip)


class RayConnection:
    """This process's connection to the Ray cluster at ``address`` (``"auto"``: the one this machine belongs
    to), or to a private one-machine cluster it starts on 127.0.0.1 with ``num_cpus`` CPUs (stopped by
    ``close``). It lives in the proxy process (ray_proxy.py), never in the evaluator's: Ray ends a driver
    process whose local raylet dies, and the run must outlive its cluster. ``node_ip_address``: this driver's
    address as the cluster's nodes reach it."""

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, max_retries: int = 3,
                 object_store_mb: int = 200, node_ip_address: str | None = None):
        ray = self._ray = import_ray()
        self.address = address
        self._owns_connection = False  # this executor called ray.init: close() disconnects (and stops its own)
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, logging_level="ERROR", log_to_driver=False,
                             _node_ip_address=node_ip_address)
                else:
                    # "local": a new cluster, never one another `ray start` left registered on this machine
                    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                             object_store_memory=object_store_mb << 20, logging_level="ERROR",
                             log_to_driver=False)
            except Exception as e:  # noqa: BLE001 - Ray raises several kinds (ConnectionError, RuntimeError, ...)
                where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
                raise RayUnavailable(f"cannot connect to {where}: {type(e).__name__}: {e}".rstrip()) from None
            self._owns_connection = True
        self._gcs_address = ray.get_runtime_context().gcs_address
        self.max_retries = max_retries
        # A task whose worker process or node dies is retried (elsewhere); an exception of its body is not.
        self._task = ray.remote(max_retries=max_retries, retry_exceptions=False)(_ray_job)
        self._device_task = ray.remote(max_retries=max_retries, retry_exceptions=False)(_ray_device_job)
        self._lock = threading.Lock()
        self._lost: str | None = None

    def slots(self) -> int:
        resources = self._resources()
        return max(1, int(resources.get("CPU", 1)))

    def neuron_cores(self) -> int:
        return int(self._resources().get(NEURON_RESOURCE, 0))

    def _resources(self) -> dict:
        try:
            return self._ray.cluster_resources()
        except Exception as e:  # noqa: BLE001
            raise self._gone(f"{type(e).__name__}: {e}") from None

    def run(self, job: NodeJob, on_submit=None) -> NodeOutcome:
        """Run ``job`` as a task and wait for it; ``on_submit(ref)`` sees the task's reference (to cancel it)."""
        options = {"num_cpus": 1}
        if job.device:  # compiling is CPU work; the core is what is scarce and what the task must hold
            options["resources"] = {NEURON_RESOURCE: 1}
        return self._call(self._task, job, options, job.device, job.timeout_s + GRACE_S, on_submit)

    def run_device(self, job: DeviceJob, on_submit=None) -> DeviceOutcome:
        """Run a hw device step on a free NeuronCore of any node and wait for it. It holds the core and no CPU
        (the device does the work; compiles must not keep cores waiting), and device steps are spread over the
        nodes rather than packed onto one."""
        options = {"num_cpus": 0, "resources": {NEURON_RESOURCE: 1}, "scheduling_strategy": "SPREAD"}
        return self._call(self._device_task, job, options, True, GRACE_S, on_submit)

    def _call(self, task, job, options: dict, device: bool, patience_s: float, on_submit):
        """Submit ``task(job)`` and wait for its answer, probing the cluster while it waits; after ``patience_s``
        a cluster with no CPU (or NeuronCore) left at all ends the wait."""
        ray = self._ray
        with self._lock:
            if self._lost is not None:
                raise ExecutorLost(self._lost)
        try:
            ref = task.options(**options).remote(job)
        except Exception as e:  # noqa: BLE001
            raise self._gone(f"submitting a task failed: {type(e).__name__}: {e}") from None
        if on_submit is not None:
            on_submit(ref)
        deadline = time.monotonic() + patience_s
        while True:
            try:
                return ray.get(ref, timeout=HEALTH_PERIOD_S)
            except ray.exceptions.GetTimeoutError:
                self._check_alive()
                if time.monotonic() > deadline and not self._has_capacity(device):  # after the probe: it answers
                    ray.cancel(ref, force=True)
                    raise self._gone(NO_CORES if device else "no node can take a CPU task") from None
            except NodeRefused:
                raise
            except ray.exceptions.RayTaskError as e:  # the task body raised: not retried, not a lost host
                cause = getattr(e, "cause", None)
                if isinstance(cause, NodeRefused):
                    raise cause from None
                raise RuntimeError(f"the Ray task failed: {cause or e}") from None
            except KeyboardInterrupt:
                ray.cancel(ref, force=True)  # Ctrl-C: nothing of this evaluation keeps running on the cluster
                raise
            except Exception as e:  # noqa: BLE001 - worker or node died past its retries, or the cluster is gone
                raise self._gone(f"an evaluation task was lost after {self.max_retries} retries "
                                 f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None

    def _has_capacity(self, device: bool) -> bool:
        resources = self._resources()
        return resources.get(NEURON_RESOURCE if device else "CPU", 0) >= 1

    def _check_alive(self) -> None:
        """Raise ExecutorLost when the cluster's head no longer accepts connections. A plain TCP probe: Ray's
        own calls block while the head is gone, and Ray ends the driver process a minute later, so the run must
        stop (and record that it stopped) before then."""
        host, _, port = self._gcs_address.rpartition(":")
        for attempt in range(2):
            try:
                with socket.create_connection((host, int(port)), timeout=3.0):
                    return
            except OSError as e:
                why = f"its head at {self._gcs_address} refuses connections ({e.strerror or e})"
                if attempt == 0:
                    time.sleep(1.0)
        raise self._gone(why)

    def _gone(self, why: str) -> ExecutorLost:
        message = lost_message(self.address, why)
        with self._lock:
            self._lost = self._lost or message
        return ExecutorLost(message)

    def cancel(self, ref) -> None:
        self._ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect (stopping a private cluster) when this process connected, or when the cluster is lost:
        Ray ends a driver process that stays connected to a dead head for a minute."""
        with self._lock:
            lost = self._lost is not None
        if (self._owns_connection or lost) and self._ray.is_initialized():
            self._ray.shutdown()


class RayExecutor:
    """Runs jobs on a Ray cluster through a proxy process that holds the Ray connection (ray_proxy.py).

    Ray ends a driver process when its node's raylet dies; the proxy takes that end, and this process sees its
    pipe close: the jobs waiting on it raise ExecutorLost, and the run stops resumably. Arguments as
    RayConnection's.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, max_retries: int = 3,
                 object_store_mb: int = 200, node_ip_address: str | None = None):
        import_ray()  # a clear error here, before a process is started
        self.address = address
        env = dict(os.environ)
        if address is None:  # a one-machine cluster stays on loopback
            env.setdefault(LOOPBACK_VAR, "0")
        settings = {"address": address, "num_cpus": num_cpus, "max_retries": max_retries,
                    "object_store_mb": object_store_mb, "node_ip_address": node_ip_address}
        self._proc = subprocess.Popen([sys.executable, "-m", "autocomp.evaluate.executors.ray_proxy"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      start_new_session=True)  # Ctrl-C is the evaluator's to handle
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._pending_lock = threading.Lock()
        self._next = 0
        self._lost: str | None = None
        self._send(("connect", settings))
        kind, value = self._receive() or ("lost", "the Ray proxy process ended while connecting")
        if kind != "ready":
            self._stop()
            raise RayUnavailable(str(value))
        self._slots, self.gcs_address = value["slots"], value["gcs_address"]
        self._neuron_cores = value.get("neuron_cores", 0)
        threading.Thread(target=self._read_answers, name="autocomp-ray-answers", daemon=True).start()

    def slots(self) -> int:
        return self._slots

    def neuron_cores(self) -> int:
        """The cluster's NeuronCores (its ``neuron_cores`` resource) when this executor connected."""
        return self._neuron_cores

    def run(self, job: NodeJob) -> NodeOutcome:
        return self._request("run", job)

    def run_device(self, job: DeviceJob) -> DeviceOutcome:
        """A hw device step on a free NeuronCore of the cluster (devices.py)."""
        return self._request("device", job)

    def _request(self, kind: str, job):
        fut: Future = Future()
        with self._pending_lock:
            if self._lost is not None:
                raise ExecutorLost(self._lost)
            self._next += 1
            ident = self._next
            self._pending[ident] = fut
        try:
            self._send((kind, ident, job))
        except OSError:
            self._fail_all(self._lost_message("the Ray proxy process is gone"))
        try:
            kind, value = fut.result()
        except KeyboardInterrupt:
            try:
                self._send(("cancel", ident))  # nothing of this evaluation keeps running on the cluster
            except OSError:
                pass
            raise
        if kind == "ok":
            return value
        if kind == "refused":
            raise NodeRefused(value)
        if kind == "lost":
            raise ExecutorLost(value)
        raise RuntimeError(value)

    # ------------------------------------------------------------------ the pipe
    def _send(self, message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self._proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self._proc.stdin.flush()

    def _receive(self):
        return read_frame(self._proc.stdout)

    def _read_answers(self) -> None:
        while True:
            try:
                message = self._receive()
            except (OSError, EOFError, pickle.UnpicklingError):
                message = None
            if message is None:  # the proxy ended: Ray ended it with its node, or it crashed
                self._fail_all(self._lost_message("the Ray proxy process ended (the cluster's node died)"))
                return
            ident, kind, value = message
            with self._pending_lock:
                fut = self._pending.pop(ident, None)
                if kind == "lost":
                    self._lost = self._lost or value
            if fut is not None:
                fut.set_result((kind, value))

    def _lost_message(self, why: str) -> str:
        return lost_message(self.address, why)

    def _fail_all(self, message: str) -> None:
        with self._pending_lock:
            self._lost = self._lost or message
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            fut.set_result(("lost", self._lost))

    def _stop(self) -> None:
        try:
            self._proc.stdin.close()  # the proxy disconnects (stopping a private cluster) and exits
        except OSError:
            pass
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        self._stop()
        self._fail_all(self._lost_message("the executor was closed"))


def lost_message(address: str | None, why: str) -> str:
    where = f"the Ray cluster at {address}" if address else "the local Ray cluster"
    return (f"{where} stopped answering: {why}; the run is stopped with every finished evaluation kept: "
            "continue it with `autocomp optimize --resume RUN` (with --executor ray on a working cluster, "
            "or without it to evaluate locally)")


def read_frame(stream):
    """One length-prefixed pickle from the proxy's or the evaluator's end of the pipe, None at its end. Both ends
    are autocomp's own processes (never a worker's)."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)
