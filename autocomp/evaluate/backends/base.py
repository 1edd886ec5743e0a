"""The Backend protocol: how a candidate is compiled, run and timed.

A backend has three parts. The parent part (``name`` ... ``drop_privileges``) keys caches and sets up the
sandbox. The worker half (``prepare`` ... ``classify``) runs inside the sandboxed worker process, which
re-creates the backend from ``options()`` and shares its interpreter with the candidate: it only loads and
runs the candidate and leaves data (outputs, instruction traces, compiled artifacts) in its output
directory. The trusted measuring half (``measure``) runs outside the sandbox, in a process that never loads
candidate code, and turns that data into a latency: nothing the candidate can reach takes part in timing it.

A backend may also define ``measure_options()``: JSON-able keyword arguments that only the measuring half is
re-created with (the sim backend's cost-model calibration), never the worker; ``options()`` must not hold them.
"""

from __future__ import annotations

import errno
import traceback
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from autocomp.evaluate.protocol import ErrorInfo, Job, Timing, TimingRequest


@runtime_checkable
class Backend(Protocol):
    name: str  # "sim" | "neuron" (keys caches)
    evidence: str  # "sim" | "hw": what a latency from this backend is evidence of

    # ---- parent side
    def options(self) -> dict[str, Any]:
        """JSON-able keyword arguments that re-create this backend inside the worker."""

    def available(self) -> tuple[bool, str]:
        """(usable here, why not)."""

    def tool_version(self) -> str:
        """Everything about the toolchain that can change an answer (keys the caches)."""

    def sandbox_env(self, slot: int) -> dict[str, str]:
        """Extra environment for the worker on pool slot ``slot`` (e.g. NEURON_RT_VISIBLE_CORES)."""

    def pythonpath(self) -> list[str]:
        """Extra import paths the worker needs."""

    def drop_privileges(self) -> bool:
        """Whether the worker may run as an unprivileged user (no device files needed)."""

    # ---- worker half (sandboxed, shares its interpreter with the candidate)
    def prepare(self) -> None:
        """Import everything a run needs (before the job is known, resource limits set and privileges dropped)."""

    def load(self, kernel_path: Path, job: Job) -> Any:
        """Load (and for hardware, compile) the candidate; returns a handle for ``run``/``record``."""

    def run(self, handle: Any, args: list[np.ndarray], seed: int, job: Job) -> list[np.ndarray]:
        """Run once on ``args``; the flattened outputs."""

    def record(self, handle: Any, job: Job, out_dir: Path) -> None:
        """Leave in ``out_dir`` (under the names in protocol.py) what ``measure`` needs to time the candidate."""

    def classify(self, exc: BaseException, job: Job, kernel_path: Path) -> ErrorInfo:
        """Turn an exception from load/run/record into a status and a one-line message."""

    # ---- trusted measuring half (outside the sandbox, never in a process that loaded candidate code)
    def measure(self, request: TimingRequest) -> Timing:
        """The latency at full shapes from what the worker left in ``request.artifacts``, checked first: raises
        ``autocomp.evaluate.trace_check.TraceRejected`` when that data cannot be what the candidate produced."""


def flatten_outputs(value) -> list[np.ndarray]:
    """A kernel's return value (array, tuple, list or dict of them) as a flat list of arrays."""
    if value is None:
        return []
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in flatten_outputs(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in flatten_outputs(v)]
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    return [np.asarray(value)]


def kernel_line(exc: BaseException, kernel_path: Path) -> int | None:
    """The line of the deepest traceback frame inside the candidate file."""
    line = None
    target = str(kernel_path)
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == target:
            line = lineno
    return line


def generic_error(exc: BaseException, job: Job, kernel_path: Path, compile_time: bool = True) -> ErrorInfo:
    """Classification shared by backends for plain Python exceptions and resource exhaustion."""
    line = kernel_line(exc, kernel_path)
    file = job.display_name if line is not None else None
    if isinstance(exc, MemoryError):
        return ErrorInfo(status="runtime_error", code="out_of_memory", file=file, line=line,
                         message=f"ran out of memory (the sandbox allows {job.memory_mb} MiB); allocate less on the "
                                 "host")
    if isinstance(exc, RecursionError):
        return ErrorInfo(status="runtime_error", code="recursion", file=file, line=line,
                         message="maximum recursion depth exceeded; look for unbounded recursion")
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return ErrorInfo(status="runtime_error", code="file_size", file=file, line=line,
                         message="wrote more than the sandbox's file-size limit (printing in a loop?)")
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return ErrorInfo(status="runtime_error", code="exit", file=file, line=line,
                         message=f"the kernel tried to end the process ({type(exc).__name__}) before producing "
                                 "outputs")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text.replace(str(kernel_path), job.display_name).replace(job.work_dir + "/", "")
    return ErrorInfo(status="compile_error" if compile_time else "runtime_error", code=type(exc).__name__,
                     file=file, line=line, message=f"{type(exc).__name__}: {text}"[:500])
