"""Baseline figures of a problem: its kernel traced at the full timing shapes and scheduled by the cost model.

Shape-only simulation (no numerics) plus ``autocomp.perf.profile``. The figures are cached on disk,
keyed by the problem's content hash, the target and a fingerprint of the simulator and cost-model
sources, so ``autocomp problems list`` is fast the second time and never shows stale numbers.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, Field

from autocomp.problem import Problem

CACHE_ENV_VAR = "AUTOCOMP_CACHE_DIR"


class InputShape(BaseModel):
    shape: list[int]
    dtype: str

    def __str__(self) -> str:
        return f"{'x'.join(str(d) for d in self.shape) or 'scalar'} {self.dtype}"


class BaselineFigures(BaseModel):
    """What the cost model says about a problem's baseline kernel at full shapes."""

    name: str
    content_hash: str
    target: str
    input_shapes: list[InputShape] = Field(default_factory=list)
    latency_us: float | None = None
    roofline_percent: float | None = None
    bound_by: str = ""
    mfu: float | None = None
    mbu: float | None = None
    instructions: int = 0
    engine_utilisation: dict[str, float] = Field(default_factory=dict)  # percent of the latency
    hints: list[dict[str, str]] = Field(default_factory=list)
    error: str = ""  # why no figures could be computed (the baseline failed to trace)

    @property
    def shapes_text(self) -> str:
        return ", ".join(str(s) for s in self.input_shapes)


def cache_dir() -> Path:
    """``$AUTOCOMP_CACHE_DIR`` or ``~/.cache/autocomp``."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "autocomp")


@functools.cache
def tool_fingerprint() -> str:
    """Hash of the simulator and cost-model sources: a changed cost model must not reuse old figures."""
    import autocomp.nki
    import autocomp.perf

    h = hashlib.sha256()
    for package in (autocomp.nki, autocomp.perf):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _cache_path(problem: Problem) -> Path:
    return cache_dir() / "baselines" / f"{problem.name}-{problem.content_hash}-{problem.spec.target}-" \
                                      f"{tool_fingerprint()}.json"


def cached_figures(problem: Problem) -> BaselineFigures | None:
    """The cached figures for this exact problem content and tool version, if any."""
    path = _cache_path(problem)
    try:
        return BaselineFigures.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def _store(problem: Problem, figures: BaselineFigures) -> None:
    path = _cache_path(problem)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(figures.model_dump_json(indent=1))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        pass  # an unwritable cache only costs speed


def measure(problem: Problem) -> BaselineFigures:
    """Trace the baseline at full shapes (no numerics) and profile it; errors become ``figures.error``."""
    from autocomp.nki import dtypes as dt
    from autocomp.perf import profile
    from autocomp.suite.check import load_problem_kernel, run_problem_kernel

    figures = BaselineFigures(name=problem.name, content_hash=problem.content_hash, target=problem.spec.target)
    try:
        specs = problem.input_specs()
        figures.input_shapes = [InputShape(shape=list(s.shape), dtype=dt.dtype_name(s.dtype)) for s in specs]
        fn = load_problem_kernel(problem)
        trace = run_problem_kernel(problem, fn, specs, numerics=False).trace
        prof = profile(trace, problem.spec.target)
    except Exception as e:  # the problem author's kernel: report, don't crash the listing
        figures.error = f"{type(e).__name__}: {e}".strip()
        return figures
    figures.latency_us = prof.latency_us
    figures.roofline_percent = prof.roofline.percent
    figures.bound_by = prof.roofline.bound_by
    figures.mfu, figures.mbu = prof.mfu, prof.mbu
    figures.instructions = len(trace.instructions)
    figures.engine_utilisation = {name: round(stats.utilisation, 1) for name, stats in prof.engines.items()
                                  if stats.instruction_count}
    figures.hints = [{"code": h.code, "message": h.message} for h in prof.hints]
    return figures


def baseline_figures(problem: Problem, *, refresh: bool = False, use_cache: bool = True) -> BaselineFigures:
    """Cached figures, or measure them now (and cache them, errors included: they are deterministic too)."""
    if use_cache and not refresh:
        hit = cached_figures(problem)
        if hit is not None:
            return hit
    figures = measure(problem)
    if use_cache:
        _store(problem, figures)
    return figures


def knob_space_size(problem: Problem) -> int:
    """Number of knob combinations (1 when the problem has no knobs)."""
    size = 1
    for values in problem.spec.knobs.values():
        size *= len(values)
    return size

