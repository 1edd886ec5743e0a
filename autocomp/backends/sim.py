"""The default backend: autocomp's NKI simulator for outputs, its cost model for latency (evidence ``sim``)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import pkgutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from autocomp.backends.base import flatten_outputs, generic_error
from autocomp.evaluate.protocol import ErrorInfo, Job, Timing, TraceFacts, dtype_from_name

_FINGERPRINTED = ("nki", "perf", "evaluate", "backends")
_NUMPY_SUBMODULES = ("numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.ma", "numpy.dtypes",
                     "numpy.exceptions")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the simulator, cost model and evaluator sources: a code change must not hit old cache entries."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in _FINGERPRINTED:
        for path in sorted((root / part).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def package_version() -> str:
    try:
        return importlib.metadata.version("autocomp")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def trace_facts(trace) -> TraceFacts:
    """Instruction count, bytes written to HBM, work done, and the dtypes compute instructions (and casting DMAs)
    used."""
    hbm = ops = dma = 0
    dtypes: set[str] = set()
    for ins in trace.instructions:
        is_dma = ins.opcode == "DMA"
        for acc in ins.dst:
            if acc.buffer == "hbm":
                hbm += acc.nbytes
            if is_dma:
                dma += acc.nbytes
        if not is_dma:
            ops += ins.partitions * ins.elems
        if not is_dma or (ins.attrs or {}).get("cast"):
            for acc in ins.dst:
                dtypes.add(acc.dtype)
            for acc in ins.src:
                dtypes.add(acc.dtype)
    return TraceFacts(instructions=len(trace.instructions), hbm_write_bytes=hbm, compute_dtypes=sorted(dtypes),
                      compute_ops=ops, dma_bytes=dma)


class SimBackend:
    """Simulate with ``autocomp.nki``; estimate latency with ``autocomp.perf``."""

    name = "sim"
    evidence = "sim"

    def __init__(self) -> None:
        self._timed_trace = None
        self._timed_output_bytes: int | None = None

    # ------------------------------------------------------------------ parent side
    def options(self) -> dict[str, Any]:
        return {}

    def available(self) -> tuple[bool, str]:
        return True, ""

    def tool_version(self) -> str:
        return f"autocomp-sim-{package_version()}+{code_fingerprint()}-numpy{np.__version__}"

    def sandbox_env(self, slot: int) -> dict[str, str]:
        return {}

    def pythonpath(self) -> list[str]:
        return []

    def drop_privileges(self) -> bool:
        return True

    # ------------------------------------------------------------------ worker side
    def prepare(self) -> None:
        import autocomp.nki
        import autocomp.perf

        autocomp.nki.install()
        # Import everything now: after privileges drop, lazily imported modules may be unreadable.
        for pkg in (autocomp.nki, autocomp.perf):
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

        fn = load_kernel(kernel_path, job.function, job.target)
        if isinstance(fn, Kernel):
            return fn
        top = sys.modules["nki" if job.dialect == "v2" else "neuronxcc.nki"]
        return top.jit(fn)

    def run(self, handle: Any, args: list[np.ndarray], seed: int, job: Job) -> tuple[list[np.ndarray], TraceFacts]:
        outputs = flatten_outputs(handle(*args))
        trace = handle.last_result.trace
        if self._timed_trace is None and not job.timing_specs:
            self._timed_trace = trace  # time the first numeric run at full shapes
            self._timed_output_bytes = sum(int(o.nbytes) for o in outputs)
        return outputs, trace_facts(trace)

    def measure(self, handle: Any, job: Job, first_args: list[np.ndarray]) -> Timing:
        import time

        from autocomp.nki.shapes import TensorSpec
        from autocomp.perf import profile

        trace = self._timed_trace
        if job.timing_specs:
            specs = [TensorSpec(s.shape, dtype_from_name(s.dtype)) for s in job.timing_specs]
            handle(*specs)
            trace = handle.last_result.trace
        start = time.perf_counter()
        prof = profile(trace, job.target)
        (pid, summary), = prof.summary().items()
        return Timing(latency_us=prof.latency_us, evidence="sim", summary=summary, profile_id=pid,
                      hints=[f"{h.code}: {h.message}" for h in prof.hints], samples_us=[prof.latency_us], spread=0.0,
                      facts=trace_facts(trace), output_bytes=None if job.timing_specs else self._timed_output_bytes,
                      profile_s=time.perf_counter() - start)

    def classify(self, exc: BaseException, job: Job, kernel_path: Path) -> ErrorInfo:
        from autocomp.nki.errors import NkiError, NkiRuntimeError
        from autocomp.nki.loader import KernelLoadError

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
