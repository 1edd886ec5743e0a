"""What the search needs from one evaluation, read from an ``EvalResult`` (or its dict).

The evaluator owns ``EvalResult``; this module only reads it, tolerating fields
it does not know, so the search keeps working while the evaluator grows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


def _get(data: Mapping, *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``data`` holds a value for."""
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return default


def as_dict(result: Any) -> dict:
    """A JSON-ready dict of an ``EvalResult``, a dict, or anything pydantic."""
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return json.loads(json.dumps(dict(result), default=str))
    raise TypeError(f"expected an EvalResult or a dict, got {type(result).__name__}")


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

    @property
    def correct(self) -> bool:
        return self.status == CORRECT and self.latency_us is not None and self.latency_us > 0

    @classmethod
    def from_result(cls, result: Any) -> Outcome:
        data = as_dict(result)
        status = str(_get(data, "status", default="runtime_error"))
        latency = _get(data, "latency_us")
        summary = _inner(_get(data, "profile", "summary", "profile_summary", default={}) or {})
        summary = dict(summary) if isinstance(summary, Mapping) else {}
        roof = summary.get("roofline_percent")
        return cls(
            status=status,
            latency_us=float(latency) if isinstance(latency, (int, float)) and latency > 0 else None,
            evidence=str(_get(data, "evidence", default=summary.get("evidence", "sim"))),
            reason=str(_get(data, "reason", default="")),
            error_report=_error_report(data) if status == "incorrect" else "",
            profile_summary=summary,
            hints=tuple(_hint_text(h) for h in (_get(data, "hints", default=[]) or [])),
            # neuron-profile style: *_percent fields are fractions of 1.
            roofline_percent=100.0 * float(roof) if isinstance(roof, (int, float)) else None,
            roofline_bound=str(summary.get("roofline_bound") or ""),
            spread=_get(data, "timing_spread", "spread"),
            cached=bool(_get(data, "cache_hit", default=False)),
            warnings=tuple(str(w) for w in (_get(data, "warnings", default=[]) or [])),
        )

    def short(self) -> str:
        """One line for tables and lineage histories: ``correct 812.3 us`` or ``compile_error: ...``."""
        if self.correct:
            return f"correct, {self.latency_us:.1f} us ({self.evidence})"
        first = self.reason.strip().splitlines()[0] if self.reason.strip() else ""
        return f"{self.status}: {first[:160]}" if first else self.status

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


def _inner(summary: Any) -> Any:
    """neuron-profile summaries are ``{profile_id: {...}}``; the search wants the inner dict."""
    if isinstance(summary, Mapping) and len(summary) == 1:
        only = next(iter(summary.values()))
        if isinstance(only, Mapping):
            return only
    return summary


def _hint_text(hint: Any) -> str:
    if isinstance(hint, Mapping):
        return str(hint.get("message", hint))
    return hint if isinstance(hint, str) else str(getattr(hint, "message", hint))


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


def _error_report(data: Mapping) -> str:
    """How wrong a wrong result was: overall error and the worst element of each failing output."""
    lines = []
    if isinstance(data.get("max_abs"), (int, float)) or isinstance(data.get("rel_l2"), (int, float)):
        lines.append(f"- over all seeds: max |out - ref| = {_short_value(data.get('max_abs'))}, "
                     f"relative L2 error = {_short_value(data.get('rel_l2'))}")
    failing = [e for e in data.get("errors") or [] if isinstance(e, Mapping) and not e.get("passed", False)]
    for err in failing[:3]:
        parts = [f"seed {err.get('seed')}, output {err.get('output')}"]
        if err.get("note"):
            parts.append(str(err["note"]))
        if err.get("mismatched") is not None and err.get("size"):
            parts.append(f"{err['mismatched']} of {err['size']} elements out of tolerance")
        if err.get("nonfinite"):
            parts.append(f"{err['nonfinite']} NaN/inf (NaN usually means never written)")
        if err.get("worst_index") is not None:
            parts.append(f"worst at index {err['worst_index']}: got {_short_value(err.get('worst_value'))}, "
                         f"expected {_short_value(err.get('worst_expected'))}")
        if err.get("rel_l2") is not None:
            parts.append(f"rel L2 {_short_value(err['rel_l2'])}")
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines)


def _short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:200] + "..."
