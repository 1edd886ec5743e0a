"""Tokens and dollars, summed per phase, per model and in total."""

from __future__ import annotations

import threading
from collections import defaultdict

from pydantic import BaseModel

from autocomp.llm.types import Completion


class Usage(BaseModel):
    """Totals over a set of calls.

    ``calls`` counts requests that reached a provider and succeeded; tokens and
    dollars are theirs, plus what failures the provider bills were charged (an
    answer refused as too large). Cache hits are counted apart and cost nothing.
    """

    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, completion: Completion) -> None:
        """Count one completion (a cache hit counts only as a hit)."""
        if completion.cache_hit:
            self.cache_hits += 1
            return
        self.calls += 1
        self.charge(completion)

    def charge(self, completion: Completion) -> None:
        """Add a completion's tokens and dollars (without counting a call)."""
        self.input_tokens += completion.input_tokens
        self.output_tokens += completion.output_tokens
        self.cached_tokens += completion.cached_tokens
        self.cache_write_tokens += completion.cache_write_tokens
        self.cost_usd += completion.cost_usd


class UsageReport(BaseModel):
    """A snapshot of the ledger, ready to store or print."""

    total: Usage
    by_phase: dict[str, Usage]
    by_model: dict[str, Usage]


class Ledger:
    """Thread-safe running totals of every call the service made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = Usage()
        self._by_phase: dict[str, Usage] = defaultdict(Usage)
        self._by_model: dict[str, Usage] = defaultdict(Usage)

    def record(self, phase: str, completion: Completion) -> None:
        """Add one completion under ``phase`` and its model."""
        with self._lock:
            for usage in (self._total, self._by_phase[phase], self._by_model[completion.model_id]):
                usage.add(completion)

    def record_failure(self, phase: str, model_id: str, charged: Completion | None = None) -> None:
        """Count a call that failed after all retries; ``charged`` is what it cost when the provider bills it."""
        with self._lock:
            for usage in (self._total, self._by_phase[phase], self._by_model[model_id]):
                usage.failures += 1
                if charged is not None:
                    usage.charge(charged)

    def report(self) -> UsageReport:
        """A copy of the current totals."""
        with self._lock:
            return UsageReport(
                total=self._total.model_copy(),
                by_phase={k: v.model_copy() for k, v in self._by_phase.items()},
                by_model={k: v.model_copy() for k, v in self._by_model.items()},
            )

    @property
    def total(self) -> Usage:
        """A copy of the run's totals."""
        with self._lock:
            return self._total.model_copy()
