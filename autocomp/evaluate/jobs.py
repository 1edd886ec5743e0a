"""Laying out one evaluation's private directory for the worker.

```
autocomp-eval-XXXX/       0711 parent: workers can reach their subdirectories, not list this one
  spawn.json              0600 worker: which backend the worker imports while it waits for its job
  job.json                0600 worker
  in/seed<S>_arg<I>.npy   0700 worker: read, then deleted, by the worker before candidate code runs
  work/kernel.py          0700 worker: the candidate's working directory
  out-<nonce>/            0700 worker: outputs and report.json
  stdout.log stderr.log   0600 parent
```
"worker" is the unprivileged user a root evaluator runs sandboxed workers as (``run_as``); without a sandbox
a root worker starts as root, reads what it needs, then drops to ``drop_to`` (so those files stay the
parent's); any other user's workers are that user. The directory is created with the worker process (which
may be spawned before its candidate is known); the job is written into it when the candidate arrives.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autocomp.evaluate.protocol import JOB_NAME, ArrayRef, InputSpec, Job, save_array

SPAWN_NAME = "spawn.json"
OWNER_NAME = "owner.pid"  # the evaluator process that created the directory
PREFIX = "autocomp-eval-"
NONCE_PATTERN = re.compile(r"[0-9a-f]{32}")


@dataclass
class JobDir:
    root: Path
    nonce: str
    drop_to: tuple[int, int] | None  # ids an unsandboxed root worker drops to after reading its inputs
    run_as: tuple[int, int] | None = None  # ids a sandboxed worker runs as from the start (root evaluators)
    sandboxed: bool = False

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def out(self) -> Path:
        return self.root / f"out-{self.nonce}"

    def cleanup(self) -> None:
        remove_job_dir(self.root)


def remove_job_dir(root: Path) -> None:
    try:
        os.chmod(root / "in", 0o700)  # the worker locks it (mode 0) once it has read its inputs
    except OSError:
        pass
    shutil.rmtree(root, ignore_errors=True)


def unprivileged_ids() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody`` when this process is root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def create_job_dir(backend: str, backend_options: dict, drop_to: tuple[int, int] | None,
                   base_dir: str | None = None, *, run_as: tuple[int, int] | None = None,
                   sandboxed: bool = False, nonce: str | None = None) -> JobDir:
    """An empty job directory with a fresh nonce (or the evaluator's ``nonce``, for a job run on another host:
    executors/node.py), ready for a worker to be spawned in it."""
    if nonce is not None and not NONCE_PATTERN.fullmatch(nonce):
        raise ValueError(f"job nonce {nonce!r}: expected 32 lowercase hex digits")
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base_dir))
    try:
        os.chmod(root, 0o711)
        d = JobDir(root, nonce or secrets.token_hex(16), drop_to, run_as, sandboxed)
        for path in (root / "in", d.work, d.out):
            path.mkdir(mode=0o700)
        if drop_to is not None:
            for path in (d.work, d.out):
                os.chown(path, *drop_to)
        _private_file(root / OWNER_NAME, str(os.getpid()))
        _private_file(root / SPAWN_NAME, json.dumps({"backend": backend, "backend_options": backend_options}))
        if d.run_as is not None:
            for path in (root / "in", d.work, d.out, root / SPAWN_NAME):
                os.chown(path, *d.run_as)
        return d
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def sweep_stale_job_dirs(base_dir: str | None = None) -> int:
    """Remove job directories whose evaluator process is gone (killed before it could clean up)."""
    removed = 0
    for root in Path(base_dir or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((root / OWNER_NAME).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        try:
            os.kill(owner, 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        remove_job_dir(root)
        removed += 1
    return removed


def write_job(d: JobDir, *, source: str, display_name: str, inputs: dict[int, tuple[np.ndarray, ...]],
              input_hashes: dict[int, list[str]], timing_specs: list[InputSpec] | None, backend: str,
              backend_options: dict, target: str, dialect: str, function: str, memory_mb: int, cpu_s: int,
              file_size_mb: int, nki_version: str = "") -> Job:
    """Write the candidate, its inputs and job.json into ``d``."""
    refs: dict[str, list[ArrayRef]] = {}
    for seed, arrays in inputs.items():
        refs[str(seed)] = [save_array(d.root / "in", f"seed{seed}_arg{i}", a) for i, a in enumerate(arrays)]
    kernel = d.work / "kernel.py"
    kernel.write_text(source)
    if d.drop_to is not None:
        os.chown(kernel, *d.drop_to)
    if d.run_as is not None:
        for path in [kernel, *(d.root / "in").iterdir()]:
            os.chown(path, *d.run_as)
    job = Job(nonce=d.nonce, backend=backend, backend_options=backend_options, target=target, dialect=dialect,
              nki_version=nki_version, function=function, kernel_file="kernel.py", display_name=display_name,
              seeds=list(inputs), inputs=refs,
              input_hashes={str(s): h for s, h in input_hashes.items()}, timing_specs=timing_specs,
              output_dir=str(d.out), work_dir=str(d.work), memory_mb=memory_mb, cpu_s=cpu_s,
              file_size_mb=file_size_mb, drop_to_uid=d.drop_to[0] if d.drop_to else None,
              drop_to_gid=d.drop_to[1] if d.drop_to else None,
              # RLIMIT_NPROC counts per user: set it only where that user is the worker's alone (nobody, or the
              # uid of a sandbox's user namespace), never on the user running the evaluator
              nproc=64 if d.drop_to or d.sandboxed else None)
    _private_file(d.root / JOB_NAME, job.model_dump_json())
    if d.run_as is not None:
        os.chown(d.root / JOB_NAME, *d.run_as)
    return job
