"""What the run store hands back: plain, frozen records read from run.sqlite."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autocomp.evaluate.result import EvalResult

RUN_STATUSES = ("running", "finished", "interrupted", "failed")
# Candidate status before its search evaluation is recorded; afterwards the EvalResult's status.
PENDING = "pending"
CORRECT = "correct"


def _known(cls, row) -> dict[str, Any]:
    """The row's columns that are fields of ``cls``: columns added by later migrations are ignored."""
    fields = cls.__dataclass_fields__
    return {k: row[k] for k in row.keys() if k in fields and fields[k].init and k not in ("meta", "result", "data")}


@dataclass(frozen=True)
class RunInfo:
    """The run row: what was optimized, how it is going, where the best result is."""

    run_id: str
    problem: str
    problem_hash: str | None
    problem_path: str | None
    target: str | None
    seed: int | None
    status: str
    status_reason: str | None
    best_candidate: int | None
    baseline_candidate: int | None
    baseline_latency_us: float | None
    autocomp_version: str | None
    created: float
    updated: float
    schema_version: int = 0

    @classmethod
    def from_row(cls, row, schema_version: int) -> RunInfo:
        return cls(**_known(cls, row), schema_version=schema_version)


@dataclass(frozen=True)
class Candidate:
    """One proposed kernel. ``status``, ``latency_us``, ``speedup`` and ``evidence`` mirror its search evaluation."""

    id: int
    parent_id: int | None
    iteration: int
    origin: str
    plan: str | None
    source_hash: str
    status: str
    latency_us: float | None
    speedup: float | None
    evidence: str | None
    llm_call_id: int | None
    meta: dict[str, Any]
    created: float

    @property
    def evaluated(self) -> bool:
        return self.status != PENDING

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    @classmethod
    def from_row(cls, row) -> Candidate:
        return cls(**_known(cls, row), meta=json.loads(row["meta_json"]) if row["meta_json"] else {})


@dataclass(frozen=True)
class Evaluation:
    """One recorded EvalResult: key columns plus the full result as stored (a dict; ``eval_result`` types it)."""

    id: int
    candidate_id: int
    purpose: str
    status: str
    latency_us: float | None
    evidence: str | None
    target: str | None
    reason: str | None
    result: dict[str, Any]
    created: float

    @classmethod
    def from_row(cls, row) -> Evaluation:
        return cls(**_known(cls, row), result=json.loads(row["result_json"]))

    @property
    def eval_result(self) -> EvalResult:
        """The stored result as an ``EvalResult``, records of earlier versions migrated (store/results.py)."""
        from autocomp.store.results import parse_result

        return parse_result(self.result, what=f"the {self.purpose!r} evaluation of candidate {self.candidate_id}")


@dataclass(frozen=True)
class LLMCall:
    """One LLM request as recorded from ``LLMService.on_call`` (prompt and answer text stay in the table)."""

    id: int
    phase: str
    sample_index: int
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    cost_usd: float
    latency_s: float
    cache_hit: bool
    attempts: int
    error_type: str | None
    error: str | None
    created: float

    @classmethod
    def from_row(cls, row) -> LLMCall:
        d = _known(cls, row)
        d["cache_hit"] = bool(d["cache_hit"])
        return cls(**d)


@dataclass(frozen=True)
class Decision:
    """One search decision, recorded before it was acted on: what a resumed run replays.

    ``key`` names it (e.g. ``iteration:3``, ``3:llm:plans``, an LLM answer's slot, a knob proposal's slot),
    ``kind`` says what ``data`` holds, ``parent_id`` is the candidate it was made for and ``candidate_id``
    the one it produced (or, for a duplicate kernel, the earlier candidate it resolved to).
    """

    id: int
    iteration: int
    key: str
    kind: str
    parent_id: int | None
    candidate_id: int | None
    data: dict[str, Any]
    created: float

    @classmethod
    def from_row(cls, row) -> Decision:
        return cls(**_known(cls, row), data=json.loads(row["data_json"]))


@dataclass(frozen=True)
class BeamSnapshot:
    """The checkpoint at the end of an iteration: the parents of the next one (the beam) and the search strategy's
    state, ``{"kind": ..., "parents": beam, ...}`` (search/strategy.py; ``kind`` "beam" for runs older than that)."""

    iteration: int
    beam: list[int]
    best_candidate: int | None
    completed: float
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spend:
    """LLM calls, tokens and dollars of one group (a phase, a model, or everything)."""

    key: str
    calls: int
    cache_hits: int
    failures: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class ResumeState:
    """Everything the search loop needs to continue an interrupted run.

    ``last_iteration`` is the last iteration whose beam was recorded (-1: none);
    the loop continues with iteration ``last_iteration + 1`` from ``beam``.
    ``pending`` are candidates that were stored but never got a search evaluation
    (evaluate them first); ``evaluated`` maps every normalized source hash that has
    a result to that evaluation, so no kernel is evaluated twice.
    ``partial`` are the candidates already created in the unfinished iteration.
    """

    run: RunInfo
    config: dict[str, Any]
    last_iteration: int
    beam: list[int]
    pending: list[Candidate]
    evaluated: dict[str, Evaluation]
    partial: list[Candidate]
    best: Candidate | None
    llm_cost_usd: float
    llm_calls: int
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def next_iteration(self) -> int:
        return self.last_iteration + 1
