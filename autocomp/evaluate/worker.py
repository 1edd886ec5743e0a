"""The sandboxed worker: ``python -m autocomp.evaluate.worker JOB_DIR``.

Imports its backend, waits for "go" on stdin (it may be spawned before its
candidate is known), then runs one candidate on every seed in this one process
(so outputs reused across calls show up), writes the outputs and a report into
the nonce directory, and exits. Order matters: read the inputs, then set
resource limits, enter the private working directory and drop privileges, and
only then load candidate code. It never judges the candidate; the parent does.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

from autocomp.evaluate.jobs import SPAWN_NAME
from autocomp.evaluate.protocol import (
    JOB_NAME,
    REPORT_NAME,
    ErrorInfo,
    Job,
    SeedRun,
    WorkerReport,
    array_hash,
    load_array,
    save_array,
    write_json_atomic,
)


class InputsCorrupted(RuntimeError):
    """The input files are not what the parent wrote."""


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    cur_soft, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def set_limits(job: Job) -> None:
    mib = 1 << 20
    _limit(resource.RLIMIT_AS, job.memory_mb * mib)
    _limit(resource.RLIMIT_CPU, job.cpu_s, job.cpu_s + 5)
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, job.file_size_mb * mib)


def drop_privileges(job: Job) -> None:
    if job.drop_to_uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setgid(job.drop_to_gid if job.drop_to_gid is not None else job.drop_to_uid)
    os.setuid(job.drop_to_uid)
    if job.nproc:
        _limit(resource.RLIMIT_NPROC, job.nproc)  # a fork bomb stops here (counted per unprivileged user)


def run_job(job_dir: Path, job: Job, backend) -> WorkerReport:
    from autocomp.evaluate import tamper

    started = time.monotonic()
    report = WorkerReport(nonce=job.nonce)
    out_dir = Path(job.output_dir)
    kernel_path = Path(job.work_dir) / job.kernel_file
    phase = "setup"  # failures before candidate code runs are the evaluator's, never the candidate's
    seed = None
    before = None
    try:
        inputs = {int(s): [load_array(job_dir / "in", ref) for ref in refs] for s, refs in job.inputs.items()}
        for s, arrays in inputs.items():
            if [array_hash(a) for a in arrays] != job.input_hashes[str(s)]:
                raise InputsCorrupted(f"the inputs of seed {s} do not match the parent's hashes")
        set_limits(job)
        os.chdir(job.work_dir)
        drop_privileges(job)
        report.phases["startup"] = time.monotonic() - started
        before = tamper.snapshot()
        phase = "load"
        t = time.monotonic()
        handle = backend.load(kernel_path, job)
        report.phases["load"] = time.monotonic() - t
        phase = "run"
        for seed in job.seeds:
            args = inputs[seed]
            t = time.monotonic()
            outputs, facts = backend.run(handle, args, seed, job)
            elapsed = time.monotonic() - t
            refs = [save_array(out_dir, f"seed{seed}_out{i}", o) for i, o in enumerate(outputs)]
            report.runs.append(SeedRun(seed=seed, outputs=refs, input_hashes_after=[array_hash(a) for a in args],
                                       facts=facts, run_s=elapsed))
        seed = None
        phase = "timing"
        t = time.monotonic()
        report.timing = backend.measure(handle, job, inputs[job.seeds[0]])
        report.phases["timing"] = time.monotonic() - t
        report.tampered = tamper.changes(before)
    except BaseException as exc:  # the candidate's failure is data for the parent, whatever it raised
        # Drop the failed frames' locals first: after a MemoryError they hold the memory we need to report.
        traceback.clear_frames(exc.__traceback__)
        handle = None
        gc.collect()
        try:
            info = (ErrorInfo(status="runtime_error", code="tool_error", message=f"{type(exc).__name__}: {exc}")
                    if phase == "setup" else backend.classify(exc, job, kernel_path))
        except BaseException as inner:
            info = ErrorInfo(status="runtime_error", code="classify", message=f"{type(exc).__name__}: {inner}")
        info.seed, info.phase = seed, phase
        report.error = info
        if before is not None:
            report.tampered = tamper.changes(before)
    report.phases["total"] = time.monotonic() - started
    return report


def main() -> None:
    from autocomp.backends import create_backend

    job_dir = Path(sys.argv[1])
    spawn = json.loads((job_dir / SPAWN_NAME).read_text())
    backend = create_backend(spawn["backend"], **spawn["backend_options"])
    backend.prepare()  # the slow imports, done while waiting for a candidate
    if sys.stdin.readline().strip() != "go":
        os._exit(0)  # the evaluator discarded this spare
    job = Job.model_validate_json((job_dir / JOB_NAME).read_text())
    report = run_job(job_dir, job, backend)
    write_json_atomic(Path(job.output_dir) / REPORT_NAME, report)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # the candidate filled its log up to the file-size limit; the report is already written
    os._exit(0)  # skip interpreter teardown: no candidate finalizer runs after the report


if __name__ == "__main__":
    main()
