"""Profile records: what ``candidates/<id>/profile.json`` holds (and re-profiling a stored kernel).

A record is a plain dict the report and the notebook read without the cost model: latency, per-engine
utilisation, roofline, hints, the neuron-profile-shaped summary and, when the schedule was at hand, the
per-engine busy intervals of ``autocomp.perf.timeline.timeline_rows``. There is one builder,
:func:`record_from_summary`, because everything a record says is in the summary the cost model writes
(``Profile.summary()``, which an ``EvalResult`` carries as ``profile``): :func:`profile_record` makes one from a
cost-model ``Profile``, :func:`result_record` from an evaluation. The run store is the one writer
(``RunStore.record_profile``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autocomp.perf.engines import DMA_QUEUES, ENGINES

if TYPE_CHECKING:
    from autocomp.evaluate.result import EvalResult
    from autocomp.perf.profile import Profile

RECORD_FORMAT = 1
REPROFILE_TIMEOUT_S = 120.0


def _number(summary: Mapping[str, Any], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, (int, float)) else 0.0


def record_from_summary(summary: Mapping[str, Any], *, latency_us: float | None = None, target: str = "",
                        kernel: str = "", evidence: str = "sim", hints: Sequence[str] = (),
                        timeline: Mapping[str, list] | None = None, origin: str = "evaluation") -> dict:
    """A JSON-ready profile record from a neuron-profile-shaped summary (seconds, fractions of 1) and what the
    summary does not hold: the latency when measured otherwise, the hints, the timeline rows."""
    engines = {lane.id: {"active_ns": 1e9 * _number(summary, f"{lane.name}_engine_active_time"),
                         "utilisation": 100.0 * _number(summary, f"{lane.name}_engine_active_time_percent"),
                         "instruction_count": int(_number(summary, f"{lane.name}_engine_instruction_count"))}
               for lane in ENGINES}
    engines[DMA_QUEUES.id] = {"active_ns": 1e9 * _number(summary, "dma_active_time"),
                              "utilisation": 100.0 * _number(summary, "dma_active_time_percent"),
                              "instruction_count": int(_number(summary, "dma_instruction_count"))}
    total = _number(summary, "total_time")
    latency_us = float(latency_us) if isinstance(latency_us, (int, float)) and latency_us > 0 else total * 1e6
    makespan = _number(summary, "total_active_time") or latency_us * 1e-6  # seconds
    return {
        "format": RECORD_FORMAT,
        "origin": origin,
        "kernel": kernel,
        "target": target or str(summary.get("target") or ""),
        "evidence": evidence,
        "latency_us": latency_us,
        "makespan_ns": makespan * 1e9,
        "engines": engines,
        "roofline": {"bound_ns": 1e9 * _number(summary, "roofline_time"),
                     "bound_by": str(summary.get("roofline_bound") or ""),
                     "percent": 100.0 * _number(summary, "roofline_percent")},
        "mfu": 100.0 * _number(summary, "mfu_estimated_percent"),  # percent, as Profile.mfu
        "mbu": 100.0 * _number(summary, "mbu_estimated_percent"),
        "hints": [str(h) for h in hints],
        "summary": dict(summary),
        "timeline": dict(timeline or {}),
    }


def profile_record(prof: Profile, *, origin: str = "evaluation") -> dict:
    """The record of a cost-model ``Profile``, with its timeline when it kept its trace."""
    from autocomp.perf.timeline import timeline_rows

    (summary,) = prof.summary().values()
    return record_from_summary(summary, latency_us=prof.latency_us, target=prof.target, kernel=prof.kernel,
                               hints=[h.message for h in prof.hints], timeline=timeline_rows(prof), origin=origin)


def result_record(result: EvalResult | Mapping[str, Any], *, kernel: str = "",
                  origin: str = "evaluation") -> dict | None:
    """The record of an evaluation (an ``EvalResult`` or its dict), or None unless it is correct and carries the
    cost model's summary; the timeline is there only when the evaluator was asked for one."""
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)
    summary = data.get("profile")
    if data.get("status") != "correct" or not isinstance(summary, Mapping) or not summary:
        return None
    timeline = data.get("timeline")
    return record_from_summary(summary, latency_us=data.get("latency_us"), target=str(data.get("target") or ""),
                               kernel=kernel, evidence=str(data.get("evidence") or "sim"),
                               hints=list(data.get("hints") or []),
                               timeline=timeline if isinstance(timeline, Mapping) else None, origin=origin)


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
