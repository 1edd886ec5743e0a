"""The part of one evaluation that runs on an execution host: lay out the job, run the sandboxed worker, hand
back what it left, as data.

A remote executor (ray.py) calls :func:`run_job` in a trusted process on the host it picked: a process that
runs autocomp's own code and never imports candidate code. Candidate code runs only in the worker that this
function spawns, in the same sandbox, with the same filesystem view, limits and environment allow-list as on
the evaluator's host (sandbox.py, isolation.py, fsview.py). Nothing is judged here: the outputs, traces and
``report.json`` go back to the evaluator, which checks and times them exactly as it checks a local worker's
files (docs/evaluation.md#running-evaluations-on-a-ray-cluster).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from autocomp.evaluate import isolation as isolation_modes
from autocomp.evaluate.protocol import InputSpec

# What a worker may leave in its output directory that goes back to the evaluator: plain file names only.
FILE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class NodeRefused(RuntimeError):
    """This host cannot run the job as asked (no sandbox for an untrusted candidate, another autocomp)."""


@dataclass
class NodeJob:
    """Everything a host needs to run one candidate's worker: no problem files, no references, no cache."""

    backend: str
    backend_options: dict
    tool_version: str  # the evaluator's: a host with other simulator or backend code would answer differently
    isolation: str  # as the evaluator was asked ("auto", "bwrap", "userns", "none"); resolved on the host
    require_sandbox: bool  # an untrusted candidate and no --allow-unisolated: refuse rather than run it bare
    source: str
    display_name: str
    inputs: dict[int, tuple[np.ndarray, ...]]
    input_hashes: dict[int, list[str]]
    timing_specs: list[InputSpec] | None
    target: str
    dialect: str
    nki_version: str
    function: str
    memory_mb: int
    cpu_s: int
    file_size_mb: int
    timeout_s: float
    device: bool = False  # it needs a NeuronCore: the executor reserves one, and the worker is started for it
    slot_env: dict[str, str] = field(default_factory=dict)


@dataclass
class NodeOutcome:
    """How the worker ended on the host (sandbox.Outcome's fields) and the files it left, by name."""

    returncode: int | None
    timed_out: bool
    wall_s: float
    stdout_tail: str
    stderr_tail: str
    leftovers: int
    isolation: str
    files: dict[str, bytes]
    nonce: str = ""  # the job directory's, which names the output directory and which report.json must carry
    kernel_path: str = ""  # where the worker saw the candidate file: the name its traces and messages use
    host: str = ""
    pid: int = 0  # the process that ran the job (tests kill it to check retries)
    node: str = ""  # the cluster's id of the node that ran it (Ray's node id), when the executor knows one


def options_key(options: dict) -> tuple:
    """A backend's options as a hashable key (list values, such as the hw backend's paths, as tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


@lru_cache(maxsize=8)
def _backend(name: str, key: tuple):
    from autocomp.evaluate.backends import create_backend

    return create_backend(name, **dict(key))


@lru_cache(maxsize=8)
def _tool_version(name: str, key: tuple) -> str:
    return _backend(name, key).tool_version()


@lru_cache(maxsize=4)
def _isolation(requested: str) -> str:
    try:
        return isolation_modes.resolve(requested)
    except (ValueError, isolation_modes.IsolationUnavailable) as e:
        raise NodeRefused(f"host {socket.gethostname()}: {e}") from None


@lru_cache(maxsize=1)
def _sweep_once() -> None:
    """Remove job directories left by a process on this host that died mid-job (a killed Ray worker)."""
    from autocomp.evaluate.jobs import sweep_stale_job_dirs

    sweep_stale_job_dirs()


def run_job(job: NodeJob) -> NodeOutcome:
    """Run ``job``'s worker in this host's sandbox and collect its output directory."""
    from autocomp.evaluate.jobs import unprivileged_ids, write_job
    from autocomp.evaluate.sandbox import discard_worker, finish_worker

    host = socket.gethostname()
    _sweep_once()
    key = options_key(job.backend_options)
    backend = _backend(job.backend, key)
    mine = _tool_version(job.backend, key)
    if mine != job.tool_version:
        raise NodeRefused(f"host {host} runs another autocomp or toolchain ({mine}) than the evaluator "
                          f"({job.tool_version}); install the same version on every node")
    isolation = _isolation(job.isolation)
    if isolation == "none" and job.require_sandbox:
        raise NodeRefused(f"host {host}: no sandbox for an untrusted candidate; "
                          f"{isolation_modes.refusal(job.isolation)}")
    nobody = unprivileged_ids() if backend.drop_privileges() else None
    drop_to, run_as = (nobody, None) if isolation == "none" else (None, nobody)
    setup = _Setup(job.backend, job.backend_options, backend, isolation, drop_to, run_as)
    if job.device or job.slot_env:  # an environment of this task's own (its core): a worker started for it
        job_dir, worker = setup.spawn(job.slot_env)
    else:  # a spare this process started while its previous job ran, as the evaluator's own pool does
        job_dir, worker = _pool(setup).take()
    try:
        write_job(job_dir, source=job.source, display_name=job.display_name, inputs=job.inputs,
                  input_hashes=job.input_hashes, timing_specs=job.timing_specs, backend=job.backend,
                  backend_options=job.backend_options, target=job.target, dialect=job.dialect,
                  nki_version=job.nki_version, function=job.function, memory_mb=job.memory_mb, cpu_s=job.cpu_s,
                  file_size_mb=job.file_size_mb)
        outcome = finish_worker(worker, job.timeout_s)
        return NodeOutcome(returncode=outcome.returncode, timed_out=outcome.timed_out, wall_s=outcome.wall_s,
                           stdout_tail=outcome.stdout_tail, stderr_tail=outcome.stderr_tail,
                           leftovers=outcome.leftovers, isolation=isolation,
                           files=collect_outputs(job_dir.out, job.file_size_mb), nonce=job_dir.nonce,
                           kernel_path=str(job_dir.work / "kernel.py"), host=host, pid=os.getpid())
    finally:
        if worker.proc.poll() is None:
            discard_worker(worker)  # writing the job failed: never leave the worker behind
        job_dir.cleanup()


@dataclass(frozen=True)
class _Setup:
    """How this host starts workers for one backend and sandbox."""

    backend_name: str
    backend_options: dict
    backend: object
    isolation: str
    drop_to: tuple[int, int] | None
    run_as: tuple[int, int] | None

    @property
    def key(self) -> tuple:
        return (self.backend_name, options_key(self.backend_options), self.isolation, self.drop_to, self.run_as)

    def spawn(self, slot_env: dict[str, str] | None = None):
        from autocomp.evaluate.evaluator import sandbox_needs
        from autocomp.evaluate.fsview import worker_view
        from autocomp.evaluate.jobs import create_job_dir
        from autocomp.evaluate.sandbox import child_env, spawn_worker

        job_dir = create_job_dir(self.backend_name, self.backend_options, self.drop_to, run_as=self.run_as,
                                 sandboxed=self.isolation != "none")
        try:
            # The core Ray reserved for a device task (NEURON_RT_VISIBLE_CORES, set by Ray for neuron_cores) is in
            # the environment allow-list, so it reaches the worker; the job's own settings come on top.
            env = child_env(str(job_dir.work), slot_env or {}, self.backend.pythonpath())
            mounts = None
            if self.isolation != "none":
                ro, devices = sandbox_needs(self.backend)
                mounts = worker_view(job_dir.root, [job_dir.work, job_dir.root / "in", job_dir.out],
                                     extra_ro=ro, devices=devices)
            return job_dir, spawn_worker(job_dir.root, env, self.isolation, mounts, self.run_as)
        except BaseException:
            job_dir.cleanup()
            raise


_pools: dict[tuple, object] = {}
_pools_lock = threading.Lock()


def _pool(setup: _Setup):
    """This process's pool of one spare worker for ``setup`` (a Ray worker process runs one job at a time)."""
    from autocomp.evaluate.pool import WorkerPool

    with _pools_lock:
        pool = _pools.get(setup.key)
        if pool is None:
            pool = _pools[setup.key] = WorkerPool(lambda _slot: setup.spawn(), spares=1)
        return pool


def collect_outputs(out_dir, limit_mb: int) -> dict[str, bytes]:
    """The regular files directly in the worker's output directory, up to ``limit_mb`` in all. The worker is
    hostile: links, directories and odd names are left behind (the evaluator then misses what it needs and
    says so), and files past the cap stay behind."""
    files: dict[str, bytes] = {}
    budget = limit_mb << 20
    for entry in sorted(os.scandir(out_dir), key=lambda e: e.name):
        if not FILE_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        size = entry.stat(follow_symlinks=False).st_size
        if size > budget:
            continue
        with open(entry.path, "rb") as f:
            files[entry.name] = f.read(size)
        budget -= size
    return files


def place_outputs(files: dict[str, bytes], out_dir) -> None:
    """Write a host's files into the evaluator's copy of the job's output directory (names checked again)."""
    for name, data in files.items():
        if not FILE_NAME.fullmatch(name) or name in (".", ".."):
            continue
        fd = os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
