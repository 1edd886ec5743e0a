"""EvalResult: the verdict on one candidate, as the search loop, the run store and `autocomp eval --json` see it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autocomp.targets import DEFAULT_TARGET

Status = Literal["correct", "incorrect", "compile_error", "runtime_error", "timeout", "rejected"]
Evidence = Literal["sim", "hw"]

# Flags a result can carry (free-form strings; these are the ones the evaluator sets).
FLAG_SPEEDUP_REVIEW = "speedup_over_10x_review"
FLAG_NOISY_TIMING = "noisy_timing"
FLAG_TOOL_ERROR = "tool_error"  # the evaluator's own tooling failed: not the candidate's fault, never cached
FLAG_FEWER_FLOPS = "fewer_flops_than_baseline_review"
FLAG_WORK_SCALING = "work_scaling_review"  # full-size compute grows 2-4x less than the baseline's
FLAG_SHAPE_REGRESSION = "slower_at_a_shape"  # slower than the baseline at a declared shape


class OutputError(BaseModel):
    """How far one output of one seed is from the reference."""

    model_config = ConfigDict(extra="forbid")
    seed: int
    output: int
    passed: bool
    max_abs: float | None = None
    rel_l2: float | None = None
    worst_index: list[int] | None = None  # the element that exceeds atol + rtol*|ref| by the most
    worst_value: float | None = None
    worst_expected: float | None = None
    mismatched: int = 0  # elements outside atol + rtol*|ref|
    nonfinite: int = 0  # NaN/inf where the reference is finite (NaN = never written)
    size: int = 0
    note: str = ""  # shape/dtype problems
    shape: str = ""  # the declared timing shape it was checked at (problems with [[shapes]])


class ShapeResult(BaseModel):
    """A candidate at one declared timing shape (docs/evaluation.md#problems-over-several-shapes)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    weight: float = 1.0
    params: dict[str, Any] = Field(default_factory=dict)
    status: Status = "correct"
    latency_us: float | None = None
    baseline_latency_us: float | None = None
    speedup: float | None = None  # baseline latency / latency at this shape
    cache_hit: bool = False
    # sim evidence: this shape's estimate and its error band (total_time, estimate_class, uncertainty), so the
    # win verdict (store/win.py) can weigh every shape, not only the first shape's profile
    estimate: dict[str, Any] = Field(default_factory=dict)


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    line: int | None = None


class EvalResult(BaseModel):
    """The verdict on one candidate kernel. Every figure says how it was obtained (``evidence``)."""

    model_config = ConfigDict(extra="forbid")
    status: Status
    reason: str  # one line naming file and line, something a person or an LLM can act on
    latency_us: float | None = None  # several shapes: the weighted geometric mean of the per-shape latencies
    baseline_latency_us: float | None = None
    speedup: float | None = None  # baseline latency / latency, same backend and session
    # A problem with declared shapes: one entry per shape evaluated (in declared order; evaluation stops at the
    # first shape where the candidate fails), and the shapes where it is slower than the baseline.
    shapes: list[ShapeResult] = Field(default_factory=list)
    regressed_shapes: list[str] = Field(default_factory=list)
    evidence: Evidence = "sim"
    location: Location | None = None
    # correctness
    max_abs: float | None = None  # worst over seeds and outputs
    rel_l2: float | None = None
    errors: list[OutputError] = Field(default_factory=list)
    # performance
    profile: dict[str, Any] = Field(default_factory=dict)  # neuron-profile summary fields
    # Engine timeline of the timed run from the trusted measuring half, only when the Evaluator was asked for
    # timelines: rows of [start_ns, end_ns, count, label] (autocomp.perf.timeline)
    timeline: dict[str, list[list]] = Field(default_factory=dict)
    profile_id: str = ""
    # Neuron Explorer captures of the measurement (--hw-profile; one per shape): staged files until the run store
    # keeps them, then their run-relative "path" (docs/evaluation.md#device-profiles-in-the-run)
    device_profiles: list[dict[str, Any]] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    timing_samples_us: list[float] = Field(default_factory=list)
    timing_spread: float | None = None  # (max - min) / min of the kept samples
    timing_rounds: int = 0  # measurement rounds (hardware re-measures while the spread is too large)
    # facts the checks used
    output_dtypes: list[str] = Field(default_factory=list)
    compute_dtypes: list[str] = Field(default_factory=list)
    mutated_inputs: list[int] = Field(default_factory=list)
    work_scaling: dict[str, float] = Field(default_factory=dict)  # full-size / check-size work (check_shapes)
    compute_work: float | None = None  # MACs + compute-engine elements of the timed run (check_shapes)
    # Where a failing run failed: {"seed": int | None, "run": "check" | "timing", "shapes": {name: "dtype[dims]"}}
    failure_at: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # simulator/numpy warnings while it ran (SBUF spill, NaN...)
    # provenance
    backend: str = "sim"
    target: str = DEFAULT_TARGET
    nki_version: str = ""  # v2 problems: the NKI release the run followed ("0.7"); "" for v1
    tool_version: str = ""
    seeds: list[int] = Field(default_factory=list)
    problem: str = ""
    problem_hash: str = ""
    source_hash: str = ""
    cache_hit: bool = False
    isolation: str = ""  # the sandbox the candidate ran in: bwrap, userns or none (isolation.py)
    # The cost-model calibration behind a sim latency, "<file> sha256:<12 hex>" (perf/calibration_source.py);
    # None: the built-in numbers (and always for hw evidence, which no calibration touches).
    calibration: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)  # seconds spent evaluating, by phase
    log_tail: str = ""  # last lines the candidate printed (for people; never parsed)

    @property
    def ok(self) -> bool:
        return self.status == "correct"
