"""The files that pass between the evaluator (parent) and one sandboxed worker (child).

The parent writes ``job.json`` and the input arrays; the worker writes its
outputs and ``report.json`` into a directory whose name holds a per-evaluation
random nonce. The parent validates every field of the report with these models
and decides the verdict itself; nothing the candidate prints is read.

Arrays travel as ``.npy`` files loaded with ``allow_pickle=False``; dtypes numpy
cannot store (bfloat16, float8) are saved as same-width unsigned ints and named
in the JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import ml_dtypes
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

REPORT_NAME = "report.json"
JOB_NAME = "job.json"
MAX_REPORT_BYTES = 32 << 20  # a report bigger than this is not ours
# What the worker leaves for the trusted measuring half, under fixed names in its output directory: the parent
# never opens a path the worker chose.
CHECK_TRACE_NAME = "trace-check.npz"  # sim: the first seed's instruction trace
TIMING_TRACE_NAME = "trace-timing.npz"  # sim: the shape-only trace at full size (check_shapes problems)
TIMING_NEFF_NAME = "timing.neff"  # neuron: the compiled kernel to time
MAX_WARNINGS = 20  # warnings a report may carry (each cut to MAX_WARNING_CHARS)
MAX_WARNING_CHARS = 400
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class ArrayRef(BaseModel):
    """One array stored as ``.npy``: file name (relative to its directory), NKI/numpy dtype name, shape."""

    model_config = ConfigDict(extra="forbid")
    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.npy$")
    dtype: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    shape: list[int]


class InputSpec(BaseModel):
    """Shape and dtype of one full-size input (timing runs trace shapes only)."""

    model_config = ConfigDict(extra="forbid")
    dtype: str
    shape: list[int]


class Job(BaseModel):
    """What the worker must do: run ``kernel_file`` on every seed, then record what the parent times."""

    model_config = ConfigDict(extra="forbid")
    nonce: str
    backend: str
    backend_options: dict[str, Any] = Field(default_factory=dict)
    target: str
    dialect: Literal["v1", "v2"]
    nki_version: str = ""  # v2: the release the run follows ("0.6"); "": the modelled one (autocomp/nki/versions.py)
    function: str
    kernel_file: str  # name inside the job directory
    display_name: str = "kernel.py"  # how reasons name the candidate file
    seeds: list[int]
    inputs: dict[str, list[ArrayRef]]  # str(seed) -> arrays
    input_hashes: dict[str, list[str]]  # str(seed) -> sha256 of each input as given
    timing_specs: list[InputSpec] | None = None  # full-size shapes when check_shapes, else time seed 0's run
    output_dir: str  # absolute path; its name contains the nonce
    work_dir: str  # the candidate's cwd
    memory_mb: int
    cpu_s: int
    file_size_mb: int
    drop_to_uid: int | None = None
    drop_to_gid: int | None = None
    nproc: int | None = None


class ErrorInfo(BaseModel):
    """A failure inside the worker, already classified by the backend."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["compile_error", "runtime_error", "rejected"]
    code: str = ""
    message: str
    file: str | None = None
    line: int | None = None
    seed: int | None = None
    phase: str = ""  # setup | load | run | record


class TraceFacts(BaseModel):
    """Facts about one simulated run, computed by the parent from the trace it validated (sim backend only)."""

    model_config = ConfigDict(extra="forbid")
    instructions: int
    hbm_write_bytes: int
    compute_dtypes: list[str]  # float dtypes that compute instructions and casting DMAs read or wrote
    compute_ops: int = 0  # elements processed by compute instructions other than matmuls (partitions x free elems)
    dma_bytes: int = 0
    macs: int = 0  # Tensor-engine multiply-accumulates of matmuls (M x N x K, summed)


class SeedRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int
    outputs: list[ArrayRef]
    input_hashes_after: list[str]
    run_s: float = 0.0


class Timing(BaseModel):
    """Latency and the evidence behind it, from the backend's trusted measuring half (never the worker)."""

    model_config = ConfigDict(extra="forbid")
    latency_us: float = Field(gt=0)
    evidence: Literal["sim", "hw"]
    summary: dict[str, Any] = Field(default_factory=dict)  # neuron-profile summary fields (inner dict)
    profile_id: str = ""
    hints: list[str] = Field(default_factory=list)
    samples_us: list[float] = Field(default_factory=list)
    spread: float | None = None  # (max - min) / min of the kept samples
    rounds: int = 1
    facts: TraceFacts | None = None  # the timed run's
    check_facts: TraceFacts | None = None  # the first seed's run (differs from ``facts`` with check_shapes)
    profile_s: float = 0.0
    # The timed run's engine timeline, when the request asked for it: rows of [start_ns, end_ns, count, label]
    # (autocomp.perf.timeline.timeline_rows of the profile of the trace the measuring half checked).
    timeline: dict[str, list[list]] = Field(default_factory=dict)
    # A device profile captured with the measurement (hw --hw-profile): {"staged": DIR, "profile_id", ...} for the
    # run store to keep (autocomp/store/device_profiles.py), or {"error": why} when the capture failed.
    device_profile: dict[str, Any] = Field(default_factory=dict)


class TimingRequest(BaseModel):
    """What the trusted measuring half gets: the worker's output directory and what the parent knows for sure.

    ``inputs``/``timing_inputs`` are the shapes the job passed (check run, full-size timing run);
    ``outputs``/``timing_outputs`` the outputs the parent checked, as (shape, dtype) and as element counts at
    full size. ``env`` is the pool slot's environment (e.g. which NeuronCore to time on).
    """

    model_config = ConfigDict(extra="forbid")
    job: Job
    artifacts: str  # the worker's output directory
    kernel_path: str  # the candidate file as the worker named it (traces record this path)
    kernel_lines: int  # lines of the source the parent wrote, not of whatever the worker left in the file
    inputs: list[InputSpec]
    outputs: list[InputSpec]
    timing_inputs: list[InputSpec] | None = None
    timing_output_elems: list[int] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    timeline: bool = False  # also return the engine timeline (backends that have none leave it empty)


class KernelFault(RuntimeError):
    """Raised by a backend's measuring half when the candidate's own artifact fails while being timed (e.g. on
    the device): the candidate's runtime error, not a failure of the tools."""


class WorkerReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nonce: str
    runs: list[SeedRun] = Field(default_factory=list)
    error: ErrorInfo | None = None
    tampered: list[str] = Field(default_factory=list)  # module and backend attributes the candidate changed
    warnings: list[str] = Field(default_factory=list, max_length=MAX_WARNINGS)  # Python warnings while it ran
    tool_version: str = ""
    phases: dict[str, float] = Field(default_factory=dict)  # seconds: startup, load, run, record


# --------------------------------------------------------------------------- arrays
def dtype_from_name(name: str) -> np.dtype:
    """numpy dtype for a name written by ``save_array`` (numpy builtin or ml_dtypes type)."""
    if hasattr(ml_dtypes, name) and name not in ("finfo", "iinfo"):
        return np.dtype(getattr(ml_dtypes, name))
    dt = np.dtype(name)
    if dt.kind not in "biuf":
        raise ValueError(f"dtype {name!r} is not numeric")
    return dt


def dtype_name(dt: np.dtype) -> str:
    return "bool" if dt == np.bool_ else np.dtype(dt).name


def save_array(directory: Path, name: str, arr: np.ndarray) -> ArrayRef:
    """Write ``arr`` as ``directory/name.npy`` (non-numpy dtypes as raw unsigned ints)."""
    arr = np.ascontiguousarray(arr)
    stored = arr if arr.dtype.kind in "biuf" else arr.view(_UINT[arr.dtype.itemsize])
    with open(directory / f"{name}.npy", "wb") as f:
        np.save(f, stored, allow_pickle=False)
    return ArrayRef(file=f"{name}.npy", dtype=dtype_name(arr.dtype), shape=list(arr.shape))


def load_array(directory: Path, ref: ArrayRef) -> np.ndarray:
    """Read an array written by ``save_array``, checking its dtype and shape against ``ref``."""
    path = directory / ref.file
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"{ref.file}: missing or not a regular file")
    raw = np.load(path, allow_pickle=False, mmap_mode=None)
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"{ref.file}: stored dtype {raw.dtype} is not numeric")
    dt = dtype_from_name(ref.dtype)
    arr = raw if raw.dtype == dt else raw.view(dt) if raw.dtype.itemsize == dt.itemsize else None
    if arr is None or list(arr.shape) != list(ref.shape):
        raise ValueError(f"{ref.file}: holds {raw.dtype}{list(raw.shape)}, expected {ref.dtype}{ref.shape}")
    return arr


def array_hash(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{dtype_name(arr.dtype)}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).view(np.uint8).data)
    return h.hexdigest()[:32]


def write_json_atomic(path: Path, model: BaseModel) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(model.model_dump_json())
    os.replace(tmp, path)


def read_report(path: Path) -> WorkerReport:
    """Parse and validate a worker report; raises ValueError for anything malformed."""
    if path.is_symlink() or not path.is_file():
        raise ValueError("no report")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise ValueError("report too large")
    data = json.loads(path.read_text())
    return WorkerReport.model_validate(data)
