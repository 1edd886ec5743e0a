"""A real Ray cluster for the tests: a head started by the test on 127.0.0.1 with two CPUs (two task worker
processes at a time).

Token authentication with a per-session token (nothing is written under ~/.ray), every address on loopback,
a private temporary directory; the head's process group (the test started it) is killed at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before Ray is imported by any test module: loopback addresses and a token of this session's own.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

RAY_MISSING = "Ray is not installed (pip install -e '.[dev]' or '.[ray]'): the Ray executor tests need a real cluster"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    head: subprocess.Popen
    temp_dir: Path

    def processes(self) -> dict[int, bytes]:
        """pid -> title of every process of this cluster: the session the test started the head in (Ray's
        workers have process groups of their own, not sessions)."""
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    title = f.read().split(b"\0")[0]
                if os.getsid(int(entry)) == self.head.pid:
                    found[int(entry)] = title
            except OSError:
                continue
        return found

    def task_pids(self) -> list[int]:
        """Ray worker processes running an evaluation task now (Ray titles them with the task's function)."""
        return [pid for pid, title in self.processes().items() if title.startswith(b"ray::_ray_job")]

    def kill(self) -> None:
        """SIGKILL the head's group and every other process of the cluster's session."""
        for _ in range(3):
            try:
                os.killpg(self.head.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for pid in self.processes():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not self.processes():
                break
            time.sleep(0.2)
        self.head.wait()


def start_cluster() -> Cluster:
    """`ray start --head` on 127.0.0.1 with 2 CPUs, in its own process group; returns once it accepts drivers."""
    temp_dir = Path(tempfile.mkdtemp(prefix="acray-"))  # short: Ray's socket paths live under it
    port = _free_port()
    cmd = [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--head", "--block",
           "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
           "--object-store-memory=200000000", "--disable-usage-stats", f"--temp-dir={temp_dir}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[3]),
                                                         os.environ.get("PYTHONPATH", "")])}
    head = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    cluster = Cluster(f"127.0.0.1:{port}", head, temp_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # readiness, not timing: a busy machine only makes this loop longer
        if head.poll() is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise RuntimeError(f"ray start exited with {head.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return cluster
        except OSError:
            time.sleep(0.5)
    stop(cluster)
    raise RuntimeError("the Ray head did not start within 120 s")


def stop(cluster: Cluster) -> None:
    cluster.kill()
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster():
    """The session's cluster (the evaluators' Ray proxy processes connect to it, never this process)."""
    pytest.importorskip("ray", reason=RAY_MISSING)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop(cluster)


@dataclass
class Nodes:
    """A cluster of a head and worker nodes on 127.0.0.1, held by its own process (tests/fakes/ray_nodes.py)."""

    address: str
    head: str  # node ids
    workers: list[dict]  # {"id", "raylet_pid"} per worker node
    proc: subprocess.Popen
    temp_dir: Path

    def node_of(self, pid: int) -> str | None:
        """The id of the worker node whose raylet ``pid`` descends from (a task's process or its children)."""
        raylets = {w["raylet_pid"]: w["id"] for w in self.workers}
        for _ in range(8):
            if pid in raylets:
                return raylets[pid]
            try:
                with open(f"/proc/{pid}/stat") as f:
                    pid = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                return None
        return None

    def kill_worker(self, node_id: str) -> None:
        """SIGKILL every process of that worker node at once: a machine lost mid-task."""
        index = next(i for i, w in enumerate(self.workers) if w["id"] == node_id)
        self.proc.stdin.write(f"kill {index}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == f"killed {index}"

    def stop(self) -> None:
        try:
            self.proc.stdin.close()  # the holder shuts the cluster down
            self.proc.wait(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for _ in range(3):  # whatever is left of the holder's session
            left = [int(e) for e in os.listdir("/proc") if e.isdigit() and _session(int(e)) == self.proc.pid]
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not left:
                break
            time.sleep(0.2)
        if self.proc.poll() is None:
            self.proc.wait()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def start_nodes(workers: list[dict], head: dict | None = None) -> Nodes:
    """A head (``head``: its num_cpus and resources; none by default, so every task runs on a worker node) and
    ``workers`` (each its num_cpus and resources), all on 127.0.0.1; returns once every node has joined."""
    import json

    temp_dir = Path(tempfile.mkdtemp(prefix="acnodes-"))  # short: Ray's socket paths live under it
    repo = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    spec = {"head": head or {"num_cpus": 0}, "workers": workers}
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.ray_nodes", str(temp_dir), json.dumps(spec)],
                            env=env, cwd=repo, start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # the holder prints once every node has joined (or ends)
    if not line:
        proc.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise RuntimeError(f"the Ray test cluster did not start (exit {proc.returncode})")
    info = json.loads(line)
    return Nodes(info["address"], info["head"], info["workers"], proc, temp_dir)


# A Trainium worker node: one CPU (compiles, sim triage) and two NeuronCores (the `neuron_cores` resource).
TRAINIUM_NODE = {"num_cpus": 1, "resources": {"neuron_cores": 2}}


class Fleets:
    """The session's cluster of a CPU-less head and two Trainium nodes, started when a test first asks for it and
    shared by the tests that leave it whole; a test that kills one of its nodes spends it, and the next test gets
    a new one (so no test depends on the order the tests run in)."""

    def __init__(self) -> None:
        self.nodes: Nodes | None = None

    def whole(self) -> Nodes:
        if self.nodes is None:
            self.nodes = start_nodes([TRAINIUM_NODE, TRAINIUM_NODE])
        return self.nodes

    def spend(self) -> None:
        if self.nodes is not None:
            nodes, self.nodes = self.nodes, None
            nodes.stop()


@pytest.fixture(scope="session")
def fleets():
    pytest.importorskip("ray", reason=RAY_MISSING)
    held = Fleets()
    try:
        yield held
    finally:
        held.spend()


@pytest.fixture
def fleet(fleets) -> Nodes:
    """Two Trainium worker nodes that the test leaves as it found them."""
    return fleets.whole()


@pytest.fixture
def fleet_to_lose_a_node(fleets):
    """Two Trainium worker nodes, one of which the test kills: nobody uses this cluster after it."""
    try:
        yield fleets.whole()
    finally:
        fleets.spend()
