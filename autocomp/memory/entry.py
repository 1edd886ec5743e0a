"""One experience-memory entry: what an earlier run measured about one change, and how its text is made safe.

An entry is written by autocomp from a finished run (``autocomp/search/experience.py``) or read from a file
someone exported (``autocomp memory import``). Its free text (the plan, the change, a failure's reason) was
written by an LLM or taken from candidate code, so it is hostile input to every later prompt: it is capped in
size and stripped of what could pass for prompt structure (control characters, code fences) both when an entry
is made and when one is imported, and prompts quote it as data (``autocomp/memory/retrieve.py``). Everything
else in an entry is a number or a name autocomp measured or read from the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IMPROVEMENT = "improvement"
FAILURE = "failure"
EVIDENCE_TIERS = ("sim", "hw")

# Caps on the free text an entry keeps (characters, and lines of the change).
MAX_PLAN = 900
MAX_IDEA = 160
MAX_REASON = 300
MAX_CHANGE_LINES = 24
MAX_CHANGE_LINE = 140
MAX_NAME = 80
MAX_TAGS = 12

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FENCE = re.compile(r"`{3,}|~{3,}")


def clean_text(text: Any, limit: int, *, keep_lines: bool = True) -> str:
    """``text`` as plain data: no control or bidi characters, no code fences (they could end the block a prompt
    quotes it in), at most ``limit`` characters, cut at a word with an ellipsis."""
    out = _FENCE.sub("'''", _CONTROL.sub(" ", str(text or "")).replace("\r", ""))
    out = "\n".join(line.rstrip() for line in out.splitlines()) if keep_lines else " ".join(out.split())
    out = out.strip()
    if len(out) > limit:
        out = out[:limit].rsplit(" ", 1)[0].rstrip() + " ..."
    return out


def clean_change(text: Any) -> str:
    """A compact diff: at most MAX_CHANGE_LINES lines of at most MAX_CHANGE_LINE characters, no fences."""
    lines = clean_text(text, 10**6).splitlines()
    kept = [line if len(line) <= MAX_CHANGE_LINE else line[:MAX_CHANGE_LINE] + " ..." for line in lines]
    if len(kept) > MAX_CHANGE_LINES:  # the note takes the last line, so capping again changes nothing
        kept = kept[:MAX_CHANGE_LINES - 1] + [f"... ({len(lines) - MAX_CHANGE_LINES + 1} more diff lines)"]
    return "\n".join(kept)


def _name(value: Any) -> str:
    return clean_text(value, MAX_NAME, keep_lines=False)


class Bottleneck(BaseModel):
    """Where the kernel the change was made to spent its time: the roofline bound, the lane the critical path
    waited on most, and each engine's busy share (fractions of the latency)."""

    model_config = ConfigDict(extra="forbid")
    bound: str = ""
    lane: str = ""
    busy: dict[str, float] = Field(default_factory=dict)

    @field_validator("bound", "lane", mode="before")
    @classmethod
    def _short(cls, v: Any) -> str:
        return _name(v)

    @field_validator("busy")
    @classmethod
    def _fractions(cls, v: dict[str, float]) -> dict[str, float]:
        return {_name(k): min(1.0, max(0.0, float(x))) for k, x in list(v.items())[:8]}

    def text(self) -> str:
        parts = []
        if self.bound:
            parts.append(f"roofline bound {self.bound}")
        if self.lane:
            parts.append(f"critical path mostly {self.lane}")
        busy = [f"{k} {100 * v:.0f}%" for k, v in sorted(self.busy.items(), key=lambda kv: -kv[1]) if v >= 0.05]
        if busy:
            parts.append("busy " + ", ".join(busy[:3]))
        return "; ".join(parts)


def bottleneck_of(summary: Mapping[str, Any] | None) -> Bottleneck:
    """The bottleneck profile of a neuron-profile-shaped summary (an evaluation's ``profile``)."""
    from autocomp.perf.engines import DMA_QUEUES, ENGINES

    summary = summary or {}
    busy: dict[str, float] = {}
    fields = [(lane.name, f"{lane.name}_engine_active_time_percent") for lane in ENGINES if lane.name != "sync"]
    for name, key in [*fields, (DMA_QUEUES.name, "dma_active_time_percent")]:
        value = summary.get(key)
        if isinstance(value, (int, float)) and value > 0:
            busy[name] = round(float(value) if value <= 1 else float(value) / 100, 3)
    shares = summary.get("critical_path_shares")
    lane = ""
    if isinstance(shares, Mapping):
        numeric = [(k, float(v)) for k, v in shares.items() if isinstance(v, (int, float)) and k != "waiting"]
        if numeric:
            lane = max(numeric, key=lambda kv: (kv[1], kv[0]))[0]
    return Bottleneck(bound=str(summary.get("roofline_bound") or ""), lane=lane, busy=busy)


class MemoryEntry(BaseModel):
    """One remembered change (``improvement``) or an attempt worth not repeating (``failure``).

    ``key`` names where it came from (``<run id>#<candidate id>``) and makes recording idempotent: a run that is
    resumed and finishes again, or a file imported twice, adds nothing new. ``id`` is the store's row id (None
    until stored). ``gain`` is the parent's latency over the candidate's (> 1: faster), measured with
    ``evidence`` ("sim": autocomp's simulator and cost model; "hw": a NeuronCore).
    """

    model_config = ConfigDict(extra="forbid")
    id: int | None = None
    key: str = Field(min_length=3, max_length=200)
    kind: Literal["improvement", "failure"]
    problem: str
    family: str = ""
    tags: list[str] = Field(default_factory=list)
    target: str
    dialect: str
    evidence: Literal["sim", "hw"]
    idea: str = ""
    plan: str = ""
    change: str = ""
    outcome: str = ""
    gain: float | None = Field(None, gt=0, lt=1e6, allow_inf_nan=False)
    latency_us: float | None = Field(None, gt=0, allow_inf_nan=False)
    parent_latency_us: float | None = Field(None, gt=0, allow_inf_nan=False)
    bottleneck: Bottleneck = Field(default_factory=Bottleneck)
    run_id: str = ""
    candidate_id: int | None = None
    parent_id: int | None = None
    created: float = 0.0

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, v: Any) -> str:
        return " ".join(_CONTROL.sub(" ", str(v or "")).split())

    @field_validator("problem", "family", "target", "dialect", "run_id", mode="before")
    @classmethod
    def _names(cls, v: Any) -> str:
        return _name(v)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> list[str]:
        if not isinstance(v, (list, tuple)):
            raise ValueError("tags must be a list of strings")
        return [t for t in (_name(x) for x in v[:MAX_TAGS]) if t]

    @field_validator("idea", mode="before")
    @classmethod
    def _idea(cls, v: Any) -> str:
        return clean_text(v, MAX_IDEA, keep_lines=False)

    @field_validator("plan", mode="before")
    @classmethod
    def _plan(cls, v: Any) -> str:
        return clean_text(v, MAX_PLAN)

    @field_validator("outcome", mode="before")
    @classmethod
    def _outcome(cls, v: Any) -> str:
        return clean_text(v, MAX_REASON, keep_lines=False)

    @field_validator("change", mode="before")
    @classmethod
    def _change(cls, v: Any) -> str:
        return clean_change(v)

    def source(self) -> str:
        """Where the entry came from, for prompts and listings."""
        cand = f", candidate #{self.candidate_id}" if self.candidate_id is not None else ""
        parent = f" from #{self.parent_id}" if self.parent_id is not None and cand else ""
        return f"run {self.run_id or '?'} (problem {self.problem}{cand}{parent}; {self.target}, {self.dialect})"

    def result_text(self) -> str:
        """How it went, with the evidence tier."""
        tier = "hardware" if self.evidence == "hw" else "simulator estimate"
        if self.kind == IMPROVEMENT and self.gain is not None:
            lat = (f" ({self.parent_latency_us:.1f} -> {self.latency_us:.1f} us)"
                   if self.parent_latency_us and self.latency_us else "")
            return f"{self.gain:.2f}x faster than its parent{lat}, {tier}"
        return f"did not pay off: {self.outcome or 'no faster correct kernel'} ({tier})"
