"""Profile records: what ``candidates/<id>/profile.json`` holds, and re-profiling a stored kernel.

A record is a plain dict made from an ``autocomp.perf.Profile`` so the report and
notebook can draw a timeline without the trace: latency, per-engine utilisation,
roofline, hints, the neuron-profile-shaped summary, and per-engine busy
intervals (instructions closer than 1/2000 of the span are merged, which keeps
the file small for long kernels).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from autocomp.perf.engines import LABELS, TIMELINE_ROWS
from autocomp.perf.timeline import timeline_rows

RECORD_FORMAT = 1
ROWS = tuple(lane.id for lane in TIMELINE_ROWS)
ROW_LABELS = LABELS
REPROFILE_TIMEOUT_S = 120.0


def profile_record(prof: Any, *, origin: str = "evaluation") -> dict:
    """A JSON-ready record of a cost-model ``Profile`` (duck-typed, so it survives field additions)."""
    engines = {code: {"active_ns": float(getattr(st, "active_ns", 0.0)),
                      "utilisation": float(getattr(st, "utilisation", 0.0)),
                      "instruction_count": int(getattr(st, "instruction_count", 0))}
               for code, st in (getattr(prof, "engines", None) or {}).items()}
    latency_ns = float(getattr(prof, "latency_ns", 0.0))
    dma_active = float(getattr(prof, "dma_active_ns", 0.0))
    engines["dma"] = {"active_ns": dma_active, "utilisation": 100.0 * dma_active / latency_ns if latency_ns else 0.0,
                      "instruction_count": int(getattr(prof, "dma_instruction_count", 0))}
    roof = getattr(prof, "roofline", None)
    roofline = {k: getattr(roof, k) for k in ("bound_ns", "bound_by", "percent")} if roof is not None else {}
    summary = {}
    if hasattr(prof, "summary"):
        try:
            summary = next(iter(prof.summary().values()), {})
        except Exception:  # a summary is a nicety; the timeline is the point
            summary = {}
    return {
        "format": RECORD_FORMAT,
        "origin": origin,
        "kernel": getattr(prof, "kernel", ""),
        "target": getattr(prof, "target", ""),
        "evidence": "sim",
        "latency_us": latency_ns / 1e3,
        "makespan_ns": float(getattr(prof, "makespan_ns", latency_ns)),
        "engines": engines,
        "roofline": roofline,
        "mfu": getattr(prof, "mfu", None),
        "mbu": getattr(prof, "mbu", None),
        "hints": [getattr(h, "message", str(h)) for h in getattr(prof, "hints", [])],
        "summary": summary,
        "timeline": timeline_rows(prof),
    }


# ---------------------------------------------------------------- re-profiling
def reprofile(problem_dir: str | Path, kernel_path: str | Path, *, function: str | None = None,
              target: str | None = None, timeout_s: float = REPROFILE_TIMEOUT_S) -> dict:
    """Profile a stored kernel with the simulator and cost model on the problem's input shapes.

    The kernel may be LLM-written, so it runs in a fresh child process with a
    scrubbed environment, its own process group, CPU and core-dump limits and a
    wall-clock timeout; only the JSON record it writes comes back.
    """
    with tempfile.TemporaryDirectory(prefix="autocomp-reprofile-") as tmp:
        # The child works on copies, so nothing it does lands in the run directory.
        work = Path(tmp)
        shutil.copytree(problem_dir, work / "problem", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copyfile(kernel_path, work / "kernel.py")
        out = work / "profile.json"
        cmd = [sys.executable, "-m", "autocomp.store.profiles", str(work / "problem"), str(work / "kernel.py"),
               str(out), function or "", target or ""]
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "SYSTEMROOT") if k in os.environ}
        env.update(HOME=tmp, PYTHONDONTWRITEBYTECODE="1")
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout_s,
                                  start_new_session=True, preexec_fn=_limit_child if os.name == "posix" else None)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"re-profiling {kernel_path} took longer than {timeout_s:.0f} s") from None
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"re-profiling {kernel_path} failed: {tail}")
        return json.loads(out.read_text())


def _limit_child() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (int(REPROFILE_TIMEOUT_S), int(REPROFILE_TIMEOUT_S)))


def _child(problem_dir: str, kernel_path: str, out: str, function: str, target: str) -> None:
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.perf import profile
    from autocomp.problem import Problem

    problem = Problem.load(problem_dir)
    target = target or problem.spec.target
    fn = load_kernel(kernel_path, function or problem.spec.function, target)
    # Shapes are enough for the cost model: trace without numerics.
    result = run_kernel(fn, list(problem.input_specs()), target=target, grid=getattr(fn, "grid", ()),
                        numerics=False, dialect=getattr(fn, "dialect", problem.spec.dialect))
    record = profile_record(profile(result.trace, target), origin="reprofile")
    Path(out).write_text(json.dumps(record))


if __name__ == "__main__":  # pragma: no cover - exercised through reprofile()
    _child(*sys.argv[1:6])
