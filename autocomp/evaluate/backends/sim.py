"""The default backend: autocomp's NKI simulator for outputs, its cost model for latency (evidence ``sim``).

The sandboxed worker simulates the candidate and writes the instruction traces it recorded as data
(``autocomp.nki.trace_codec``); the parent decodes them, checks them (``autocomp.evaluate.trace_check``)
and runs the cost model itself, so no code the candidate can reach takes part in timing it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import pkgutil
import platform
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from autocomp.evaluate.backends.base import flatten_outputs, generic_error
from autocomp.evaluate.protocol import (
    CHECK_TRACE_NAME,
    TIMING_TRACE_NAME,
    ErrorInfo,
    Job,
    Timing,
    TimingRequest,
    dtype_from_name,
)

# Everything that decides a verdict: the simulator, the cost model, the evaluator and its backends, and how a
# problem's inputs, references and tolerances are read.
_FINGERPRINTED = ("nki", "perf", "evaluate", "problem.py")
_NUMPY_SUBMODULES = ("numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.ma", "numpy.dtypes",
                     "numpy.exceptions")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the simulator, cost model and evaluator sources: a code change must not hit old cache entries."""
    root = Path(__file__).resolve().parents[2]  # autocomp/
    h = hashlib.sha256()
    for part in _FINGERPRINTED:
        for path in sorted((root / part).rglob("*.py")) if (root / part).is_dir() else [root / part]:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def package_version() -> str:
    try:
        return importlib.metadata.version("autocomp")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class TraceTooLarge(RuntimeError):
    """The kernel issued more instructions than the parent accepts to time."""


class SimBackend:
    """Simulate with ``autocomp.nki`` in the worker; check the traces and estimate latency with ``autocomp.perf``
    in the parent."""

    name = "sim"
    evidence = "sim"

    def __init__(self, calibration: Any = None) -> None:
        # Worker half: the first run's trace, until ``record`` writes it. A container made here and never
        # replaced, so the tamper check sees any attribute of this instance the candidate swaps.
        self._traces: dict[str, Any] = {}
        # Trusted half: the cost-model calibration (autocomp.perf.calibration_source) timings use. Only the
        # parent and the measuring processes are given one (``measure_options``); the worker is re-created from
        # ``options()``, which never holds it, so no candidate can see or swap it.
        self.calibration = None
        self._calibration_file = None
        if calibration is not None:
            self.use_calibration(calibration)

    def use_calibration(self, calibration: Any) -> None:
        """Time with this calibration (a CalibrationSource, its dict or a path; None: the built-in numbers)."""
        from autocomp.perf.calibration_source import as_source

        self.calibration = as_source(calibration)
        self._calibration_file = self.calibration.parse() if self.calibration is not None else None

    # ------------------------------------------------------------------ parent side
    def options(self) -> dict[str, Any]:
        return {}  # what the sandboxed worker is re-created from: never the calibration

    def measure_options(self) -> dict[str, Any]:
        """Keyword arguments that re-create this backend's trusted measuring half (measurer.py): the calibration."""
        return {"calibration": self.calibration.to_dict()} if self.calibration is not None else {}

    def available(self) -> tuple[bool, str]:
        return True, ""

    def tool_version(self) -> str:
        return (f"autocomp-sim-{package_version()}+{code_fingerprint()}-numpy{np.__version__}"
                f"-ml_dtypes{ml_dtypes.__version__}-py{platform.python_version()}")

    def sandbox_env(self, slot: int) -> dict[str, str]:
        return {}

    def pythonpath(self) -> list[str]:
        return []

    def drop_privileges(self) -> bool:
        return True

    # ------------------------------------------------------------------ worker half
    def prepare(self) -> None:
        import autocomp.nki
        import autocomp.nki.trace_codec  # noqa: F401 - record() needs it after privileges drop

        autocomp.nki.install()
        # Import everything now: after privileges drop, lazily imported modules may be unreadable.
        for pkg in (autocomp.nki,):
            for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
                try:
                    importlib.import_module(info.name)
                except Exception:
                    pass
        for name in _NUMPY_SUBMODULES:
            importlib.import_module(name)

    def load(self, kernel_path: Path, job: Job) -> Any:
        from autocomp.nki.launch import Kernel
        from autocomp.nki.loader import load_kernel

        # installed with the job's NKI release before the kernel module runs: it may call version-ruled APIs
        fn = load_kernel(kernel_path, job.function, job.target, job.nki_version or None)
        if isinstance(fn, Kernel):
            return fn
        top = sys.modules["nki" if job.dialect == "v2" else "neuronxcc.nki"]
        return top.jit(fn)

    def run(self, handle: Any, args: list[np.ndarray], seed: int, job: Job) -> list[np.ndarray]:
        outputs = flatten_outputs(handle(*args))
        self._traces.setdefault("check", handle.last_result.trace)  # the first seed's run
        return outputs

    def record(self, handle: Any, job: Job, out_dir: Path) -> None:
        from autocomp.nki.shapes import TensorSpec

        _write_trace(out_dir / CHECK_TRACE_NAME, self._traces.pop("check"), "the check run")
        if job.timing_specs:  # time the full-size shapes: traced without values
            handle(*[TensorSpec(s.shape, dtype_from_name(s.dtype)) for s in job.timing_specs])
            _write_trace(out_dir / TIMING_TRACE_NAME, handle.last_result.trace, "the timing run")

    def classify(self, exc: BaseException, job: Job, kernel_path: Path) -> ErrorInfo:
        from autocomp.nki.errors import NkiError, NkiRuntimeError
        from autocomp.nki.loader import KernelLoadError

        if isinstance(exc, TraceTooLarge):
            return ErrorInfo(status="runtime_error", code="trace_too_large", message=str(exc))
        if isinstance(exc, NkiError):
            file, line = exc.location if exc.location else (None, None)
            if file is not None and Path(file) == kernel_path:
                file = job.display_name
            elif file is not None:
                file, line = (job.display_name, None) if line is None else (Path(file).name, line)
            status = "runtime_error" if isinstance(exc, NkiRuntimeError) else "compile_error"
            return ErrorInfo(status=status, code=exc.code, message=exc.message, file=file, line=line)
        if isinstance(exc, KernelLoadError):
            text = str(exc).replace(str(kernel_path), job.display_name)
            where, _, message = text.partition(": ")
            parts = where.split(":")
            line = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            return ErrorInfo(status="compile_error", code="load", message=message or text, file=job.display_name,
                             line=line)
        return generic_error(exc, job, kernel_path)

    # ------------------------------------------------------------------ trusted measuring half
    def measure(self, request: TimingRequest) -> Timing:
        timed, facts, check_facts = self.checked_traces(request)
        return self.timing(timed, request.job.target, facts, check_facts, timeline=request.timeline)

    def checked_traces(self, request: TimingRequest):
        """(the trace to time, its facts, the check run's facts), decoded from the worker's files and checked
        against what the parent knows: data only, nothing of the candidate runs here."""
        from autocomp.evaluate.trace_check import TensorSpecs, check_trace, trace_facts
        from autocomp.nki import versions

        job, out = request.job, Path(request.artifacts)
        check_specs = TensorSpecs(inputs=[(tuple(s.shape), s.dtype) for s in request.inputs],
                                  outputs=[(int(np.prod(s.shape, dtype=np.int64)), s.dtype) for s in request.outputs])
        check = _read_trace(out / CHECK_TRACE_NAME, "the check run")
        version = versions.normalize(job.nki_version or None) if job.dialect == "v2" else None
        check_trace(check, kernel_path=request.kernel_path, kernel_lines=request.kernel_lines, target=job.target,
                    specs=check_specs, what="the check run", nki_version=version)
        timed, check_facts = check, trace_facts(check)
        facts = check_facts
        if job.timing_specs:
            if request.timing_inputs is None or request.timing_output_elems is None:
                raise ValueError("a check_shapes job needs the full-size inputs and output sizes to check its trace")
            timed = _read_trace(out / TIMING_TRACE_NAME, "the timing run")
            full = TensorSpecs(inputs=[(tuple(s.shape), s.dtype) for s in request.timing_inputs],
                               outputs=[(n, s.dtype) for n, s in zip(request.timing_output_elems, request.outputs)])
            check_trace(timed, kernel_path=request.kernel_path, kernel_lines=request.kernel_lines,
                        target=job.target, specs=full, what="the timing run", nki_version=version)
            facts = trace_facts(timed)
        return timed, facts, check_facts

    def timing(self, timed, target: str, facts, check_facts, *, timeline: bool = False) -> Timing:
        """The cost model's estimate of a checked trace, with this backend's calibration (and, with
        ``timeline``, its engine timeline)."""
        from autocomp.perf import profile

        start = time.perf_counter()
        prof = profile(timed, target, calibration=self._calibration_file)
        (pid, summary), = prof.summary().items()
        rows = {}
        if timeline:
            from autocomp.perf.timeline import timeline_rows

            rows = timeline_rows(prof)
        return Timing(latency_us=prof.latency_us, evidence="sim", summary=summary, profile_id=pid,
                      hints=[f"{h.code}: {h.message}" for h in prof.hints], samples_us=[prof.latency_us], spread=0.0,
                      facts=facts, check_facts=check_facts, profile_s=time.perf_counter() - start, timeline=rows)


def _write_trace(path: Path, trace, what: str) -> None:
    from autocomp.nki import trace_codec

    if len(trace.instructions) > trace_codec.MAX_INSTRUCTIONS:
        raise TraceTooLarge(f"in {what} the kernel issued {len(trace.instructions)} instructions, over the "
                            f"{trace_codec.MAX_INSTRUCTIONS} the simulator times; use larger tiles or fewer loop "
                            "iterations")
    data = trace_codec.encode(trace)
    if len(data) > trace_codec.MAX_BYTES:
        raise TraceTooLarge(f"in {what} the kernel's instruction trace takes {len(data) >> 20} MiB, over the "
                            f"{trace_codec.MAX_BYTES >> 20} MiB the simulator times; issue fewer instructions")
    with open(path, "wb") as f:
        f.write(data)


def _read_trace(path: Path, what: str):
    from autocomp.evaluate.trace_check import TraceRejected
    from autocomp.nki.trace_codec import TraceFileError, decode

    try:
        return decode(path)
    except TraceFileError as e:
        raise TraceRejected(f"{what}'s trace file is unusable: {e}") from None
