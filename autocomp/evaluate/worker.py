"""The sandboxed worker: ``python -m autocomp.evaluate.worker JOB_DIR``.

Imports its backend, waits for "go" on stdin (it may be spawned before its
candidate is known), then runs one candidate on every seed in this one process
(so outputs reused across calls show up), writes the outputs, what the backend
records for timing (instruction traces, a compiled kernel) and a report into
the nonce directory, and exits. Order matters: read the inputs, then set
resource limits, enter the private working directory and drop privileges, and
only then load candidate code. It never judges or times the candidate: this
interpreter runs candidate code, so everything it writes is data the parent
checks, and the latency is computed outside it.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

from autocomp.evaluate.assert_values import describe_assert
from autocomp.evaluate.jobs import SPAWN_NAME
from autocomp.evaluate.protocol import (
    JOB_NAME,
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
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


def _describe_assert(exc: BaseException, kernel_path: Path) -> str | None:
    """The failing assert's expression and values, read from its frame before the frames are cleared."""
    try:
        return describe_assert(exc, kernel_path)
    except Exception:  # the values are a courtesy; the error itself is still reported
        return None


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
    # CPU time counts from process start, and a spare worker spent some importing its backend before its job
    # arrived: the limit is what is spent so far plus the job's budget (which exceeds the wall-clock timeout),
    # so a kernel that loops meets the wall-clock timeout first.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = math.ceil(usage.ru_utime + usage.ru_stime)
    _limit(resource.RLIMIT_CPU, spent + job.cpu_s, spent + job.cpu_s + 5)
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, job.file_size_mb * mib)


def _rearm_parent_death() -> None:
    """Changing credentials clears the parent-death signal: set it again, and leave if the evaluator (our parent,
    without namespaces) already died."""
    parent = os.environ.get("AUTOCOMP_PARENT_PID")
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != int(parent):
        os._exit(1)


def _seal_inputs(job: Job) -> None:
    """Delete the input files (read already) and lock their directory: the candidate gets its inputs as
    arguments, never as files, and cannot look ahead at other seeds'."""
    inputs = Path(job.output_dir).parent / "in"
    for path in inputs.iterdir():
        path.unlink()
    os.chmod(inputs, 0)


def drop_privileges(job: Job) -> None:
    """Give up, before candidate code runs, what the candidate must not have. Unsandboxed root becomes the
    unprivileged user; otherwise (a sandboxed worker, already unprivileged, or any other user) the inputs the
    worker can read are sealed. Then a process-count limit (per user: a fork bomb stops here)."""
    if job.drop_to_uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(job.drop_to_gid if job.drop_to_gid is not None else job.drop_to_uid)
        os.setuid(job.drop_to_uid)
        _rearm_parent_death()
    else:
        _seal_inputs(job)
    if job.nproc:
        _limit(resource.RLIMIT_NPROC, job.nproc)


class WarningLog:
    """Python warnings (simulator, numpy) raised while the candidate runs, as short distinct lines for the report.

    Installed as ``warnings.showwarning``, so a warning is data for the parent, never printed or fatal.
    """

    def __init__(self, kernel_path: Path, display_name: str):
        self.kernel_path, self.display_name = str(kernel_path), display_name
        self.lines: list[str] = []
        self.dropped = 0

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        where = f"{self.display_name}:{lineno}: " if filename == self.kernel_path else ""
        text = f"{where}{getattr(category, '__name__', 'Warning')}: {message}".replace(self.kernel_path,
                                                                                      self.display_name)
        text = " ".join(text.split())[:MAX_WARNING_CHARS]
        if text in self.lines:
            return
        if len(self.lines) < MAX_WARNINGS:
            self.lines.append(text)
        else:
            self.dropped += 1


def run_job(job_dir: Path, job: Job, backend) -> WorkerReport:
    from autocomp.evaluate import tamper

    started = time.monotonic()
    report = WorkerReport(nonce=job.nonce)
    out_dir = Path(job.output_dir)
    kernel_path = Path(job.work_dir) / job.kernel_file
    phase = "setup"  # failures before candidate code runs are the evaluator's, never the candidate's
    seed = None
    before = None
    log = WarningLog(kernel_path, job.display_name)
    try:
        inputs = {int(s): [load_array(job_dir / "in", ref) for ref in refs] for s, refs in job.inputs.items()}
        for s, arrays in inputs.items():
            if [array_hash(a) for a in arrays] != job.input_hashes[str(s)]:
                raise InputsCorrupted(f"the inputs of seed {s} do not match the parent's hashes")
        set_limits(job)
        os.chdir(job.work_dir)
        drop_privileges(job)
        report.phases["startup"] = time.monotonic() - started
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once, never an error
            warnings.showwarning = log
            before = tamper.snapshot({"backend": backend})
            phase = "load"
            t = time.monotonic()
            handle = backend.load(kernel_path, job)
            report.phases["load"] = time.monotonic() - t
            phase = "run"
            for seed in job.seeds:
                args = inputs[seed]
                t = time.monotonic()
                outputs = backend.run(handle, args, seed, job)
                elapsed = time.monotonic() - t
                refs = [save_array(out_dir, f"seed{seed}_out{i}", o) for i, o in enumerate(outputs)]
                report.runs.append(SeedRun(seed=seed, outputs=refs,
                                           input_hashes_after=[array_hash(a) for a in args], run_s=elapsed))
            seed = None
            phase = "record"
            t = time.monotonic()
            backend.record(handle, job, out_dir)
            report.phases["record"] = time.monotonic() - t
            report.tampered = tamper.changes(before, {"backend": backend})
    except BaseException as exc:  # the candidate's failure is data for the parent, whatever it raised
        asserted = _describe_assert(exc, kernel_path) if phase in ("run", "record") else None
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
        if asserted and info.code == "AssertionError":
            said = info.message.removeprefix("AssertionError:").strip()
            info.message = f"AssertionError: {asserted}" + (f": {said}" if said else "")
        report.error = info
        if before is not None:
            report.tampered = tamper.changes(before, {"backend": backend})
    report.warnings = list(log.lines)
    if log.dropped:
        report.warnings[-1] = f"... and {log.dropped + 1} more warnings"
    report.phases["total"] = time.monotonic() - started
    return report


def main() -> None:
    from autocomp.evaluate.backends import create_backend

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
