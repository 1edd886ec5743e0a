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
