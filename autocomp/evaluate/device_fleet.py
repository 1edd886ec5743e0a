"""The NeuronCores of this instance, each behind one device worker process (``device_worker.py``).

Compilation happens in the sandboxed CPU pool; the device step takes whichever core is free, so a compiled
candidate waits for a core, never a core for the compiler. Cores come from ``neuron-ls --json-output`` (each
device's ``neuroncore_ids``) unless given. Each worker gets NEURON_RT_VISIBLE_CORES=<its core> and, on targets
whose record has the ``logical_nc_config`` capability, NEURON_LOGICAL_NC_CONFIG when an LNC is configured.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autocomp.evaluate.backends.sdk import runtime_library_env

WORKER_SCRIPT = Path(__file__).with_name("device_worker.py")
DISCOVERY_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 900


class DeviceToolError(RuntimeError):
    """The device worker or a device tool failed: not the candidate's fault."""


class DeviceRunError(RuntimeError):
    """The NEFF failed on the NeuronCore (nrtpy raised): the candidate's runtime error."""


def discover_cores(neuron_ls: str, env: dict[str, str]) -> list[int]:
    """NeuronCore ids from ``neuron-ls --json-output``; a clear error when the tool is missing or says nothing."""
    try:
        r = subprocess.run([neuron_ls, "--json-output"], capture_output=True, text=True, env=env,
                           timeout=DISCOVERY_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:
        raise DeviceToolError(f"neuron-ls could not be run ({e}); install aws-neuronx-tools or list the cores with "
                              "[evaluation] cores") from None
    try:
        devices = json.loads(r.stdout[r.stdout.find("["):]) if r.returncode == 0 else None
    except ValueError:
        devices = None
    if not isinstance(devices, list):
        raise DeviceToolError(f"neuron-ls --json-output printed no device list (exit {r.returncode}): "
                              f"{(r.stderr or r.stdout).strip()[-200:]!r}")
    cores = sorted({int(c) for d in devices if isinstance(d, dict) for c in d.get("neuroncore_ids") or []})
    if not cores:
        raise DeviceToolError("neuron-ls lists no NeuronCores on this host")
    return cores


class _Worker:
    def __init__(self, core: int, argv: list[str], env: dict[str, str]):
        self.core, self.argv, self.env = core, argv, env
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=self.env, start_new_session=True)
        hello = self._read()
        if not hello.get("ok"):
            self.close()
            raise DeviceToolError(f"NeuronCore {self.core}: {hello.get('message', 'the device worker did not start')}")

    def _read(self) -> dict:
        line = self.proc.stdout.readline() if self.proc and self.proc.stdout else ""
        if not line:
            code = self.proc.poll() if self.proc else None
            self.close()
            raise DeviceToolError(f"the device worker of NeuronCore {self.core} ended (exit {code})")
        try:
            return json.loads(line)
        except ValueError:
            self.close()
            raise DeviceToolError(f"the device worker of NeuronCore {self.core} printed {line[:200]!r}") from None

    def request(self, req: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except OSError:
            self.close()
            raise DeviceToolError(f"the device worker of NeuronCore {self.core} is gone") from None
        answer = self._read()
        if answer.get("ok"):
            return answer
        if answer.get("kind") == "device":
            raise DeviceRunError(answer.get("message", "the NEFF failed on the device"))
        raise DeviceToolError(f"NeuronCore {self.core}: {answer.get('message', 'unknown failure')}")

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class DeviceFleet:
    """One device worker per NeuronCore; ``core()`` lends a free one for the duration of a ``with`` block."""

    def __init__(self, cores: list[int], *, python: str, pythonpath: list[str], search_path: str,
                 lnc: int | None = None):
        if not cores:
            raise DeviceToolError("no NeuronCores to run on")
        self.cores = list(cores)
        self._free: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        for core in self.cores:
            env = {"PATH": search_path, "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONNOUSERSITE": "1",
                   "LANG": "C.UTF-8", "NEURON_RT_VISIBLE_CORES": str(core), **runtime_library_env()}
            if lnc is not None:
                env["NEURON_LOGICAL_NC_CONFIG"] = str(lnc)
            worker = _Worker(core, [python, str(WORKER_SCRIPT)], env)
            self._all.append(worker)
            self._free.put(worker)
        self._lock = threading.Lock()

    @contextmanager
    def core(self) -> Iterator[_Worker]:
        worker = self._free.get()
        try:
            yield worker
        finally:
            self._free.put(worker)

    def close(self) -> None:
        for worker in self._all:
            worker.close()
