"""What the search needs from one evaluation, read from its ``EvalResult``.

The evaluator owns ``EvalResult`` (``autocomp/evaluate/result.py``); the search reads its
attributes. An evaluator may hand back the result's JSON instead (test doubles do): it is
validated into an ``EvalResult`` first (:func:`eval_result`). Stored results are typed by the
run store, which migrates records of earlier versions (``autocomp/store/results.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autocomp.evaluate.result import EvalResult, OutputError
from autocomp.store.results import as_stored

CORRECT = "correct"

# Summary fields worth showing the LLM, in the order shown (neuron-profile names).
_PROFILE_FIELDS = (
    ("tensor_engine_active_time_percent", "Tensor engine busy", "%"),
    ("vector_engine_active_time_percent", "Vector engine busy", "%"),
    ("scalar_engine_active_time_percent", "Scalar engine busy", "%"),
    ("gpsimd_engine_active_time_percent", "GpSimd engine busy", "%"),
    ("dma_active_time_percent", "DMA busy", "%"),
    ("dma_transfer_count", "DMA transfers", ""),
    ("dma_transfer_average_bytes", "average DMA transfer", "B"),
    ("hbm_read_bytes", "HBM read", "B"),
    ("hbm_write_bytes", "HBM written", "B"),
    ("spill_reload_bytes", "spill reloads", "B"),
    ("matmul_instruction_count", "matmul instructions", ""),
    ("mfu_estimated_percent", "MFU", "%"),
    ("hfu_estimated_percent", "HFU", "%"),
    ("mbu_estimated_percent", "MBU", "%"),
    ("transpose_flops", "transpose FLOPs", ""),
)


def eval_result(result: EvalResult | Mapping[str, Any]) -> EvalResult:
    """What an evaluator returned, validated, as the run store will hand it back (``as_stored``): a fresh
    evaluation and the same one read by a resumed run look alike to the search."""
    if isinstance(result, Mapping):
        result = EvalResult.model_validate(dict(result))
    if not isinstance(result, EvalResult):
        raise TypeError(f"an evaluator must return an EvalResult (or its JSON), got {type(result).__name__}")
    return as_stored(result)


@dataclass(frozen=True)
class Outcome:
    """Status, latency and the feedback the next prompt shows, from one evaluation."""

    status: str
    latency_us: float | None = None
    evidence: str = "sim"
    reason: str = ""
    error_report: str = ""
    profile_summary: dict = field(default_factory=dict)
    hints: tuple[str, ...] = ()
    roofline_percent: float | None = None
    roofline_bound: str = ""
    spread: float | None = None
    cached: bool = False
    warnings: tuple[str, ...] = ()  # the simulator's and numpy's warnings (SBUF spill, NaN, ...)
    # Problems with declared shapes: (shape, latency us, speedup over the baseline or None) per shape, and the
    # shapes where the candidate is slower than the baseline (docs/evaluation.md#problems-over-several-shapes).
    shape_latencies: tuple[tuple[str, float, float | None], ...] = ()
    regressed_shapes: tuple[str, ...] = ()

    @property
    def correct(self) -> bool:
        return self.status == CORRECT and self.latency_us is not None and self.latency_us > 0

    @classmethod
    def from_result(cls, result: EvalResult) -> Outcome:
        summary = dict(result.profile)
        roof = summary.get("roofline_percent")
        latency = result.latency_us
        return cls(
            status=result.status,
            latency_us=float(latency) if latency is not None and latency > 0 else None,
            evidence=result.evidence,
            reason=result.reason,
            error_report=_error_report(result) if result.status == "incorrect" else "",
            profile_summary=summary,
            hints=tuple(result.hints),
            # neuron-profile style: *_percent fields are fractions of 1.
            roofline_percent=100.0 * float(roof) if isinstance(roof, (int, float)) else None,
            roofline_bound=str(summary.get("roofline_bound") or ""),
            spread=result.timing_spread,
            cached=result.cache_hit,
            warnings=tuple(result.warnings),
            shape_latencies=tuple((s.name, float(s.latency_us), s.speedup) for s in result.shapes
                                  if s.latency_us is not None),
            regressed_shapes=tuple(result.regressed_shapes),
        )

    def short(self) -> str:
        """One line for tables and lineage histories: ``correct 812.3 us`` or ``compile_error: ...``."""
        if self.correct:
            slower = f"; slower than the baseline at {', '.join(self.regressed_shapes)}" if self.regressed_shapes \
                else ""
            return f"correct, {self.latency_us:.1f} us ({self.evidence}){slower}"
        first = self.reason.strip().splitlines()[0] if self.reason.strip() else ""
        return f"{self.status}: {first[:160]}" if first else self.status

    def shape_text(self, parent: Outcome | None = None) -> str:
        """Per-shape latencies and where the candidate lost ground (vs the baseline; vs ``parent`` when given);
        "" for a problem with one shape."""
        if not self.shape_latencies:
            return ""
        parts = [f"{name} {us:.1f} us" + (f" ({sp:.2f}x)" if sp else "") for name, us, sp in self.shape_latencies]
        text = "per shape (latency, speedup over the baseline): " + ", ".join(parts)
        if self.regressed_shapes:
            text += f"; SLOWER than the baseline at {', '.join(self.regressed_shapes)}"
        if parent is not None and parent.shape_latencies:
            before = {name: us for name, us, _ in parent.shape_latencies}
            lost = [name for name, us, _ in self.shape_latencies if name in before and us > before[name] * 1.01]
            if lost:
                text += f"; slower than its parent at {', '.join(lost)}"
        return text

    def profile_text(self) -> str:
        """The profile summary and hints as short markdown lines for a prompt."""
        lines = []
        for key, label, unit in _PROFILE_FIELDS:
            value = self.profile_summary.get(key)
            if not isinstance(value, (int, float)):
                continue
            lines.append(f"- {label}: {_fmt(value, unit)}")
        if self.roofline_percent is not None:
            bound = f", bound by {self.roofline_bound}" if self.roofline_bound else ""
            lines.append(f"- at {self.roofline_percent:.1f}% of its roofline{bound}")
        for hint in self.hints:
            lines.append(f"- hint: {hint}")
        for warning in self.warnings:
            lines.append(f"- warning: {warning}")
        return "\n".join(lines)


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        # neuron-profile writes percents as fractions of 1.
        return f"{value * 100 if value <= 1.0 else value:.1f}%"
    if unit == "B":
        return _bytes(value)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _error_report(result: EvalResult) -> str:
    """How wrong a wrong result was: overall error and the worst element of each failing output."""
    lines = []
    if result.max_abs is not None or result.rel_l2 is not None:
        lines.append(f"- over all seeds: max |out - ref| = {_short_value(result.max_abs)}, "
                     f"relative L2 error = {_short_value(result.rel_l2)}")
    failing: list[OutputError] = [e for e in result.errors if not e.passed]
    for err in failing[:3]:
        parts = [f"seed {err.seed}, output {err.output}"]
        if err.note:
            parts.append(err.note)
        if err.size:
            parts.append(f"{err.mismatched} of {err.size} elements out of tolerance")
        if err.nonfinite:
            parts.append(f"{err.nonfinite} NaN/inf (NaN usually means never written)")
        if err.worst_index is not None:
            parts.append(f"worst at index {err.worst_index}: got {_short_value(err.worst_value)}, "
                         f"expected {_short_value(err.worst_expected)}")
        if err.rel_l2 is not None:
            parts.append(f"rel L2 {_short_value(err.rel_l2)}")
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines)


def _short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:200] + "..."
