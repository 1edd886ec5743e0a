"""``LLMService``: the one object the search loop calls. Model choice, cache, budget, retries, accounting."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from autocomp.llm.accounting import Ledger, UsageReport
from autocomp.llm.budget import Budget, CallEstimate, estimate_call
from autocomp.llm.cache import ResponseCache, request_key
from autocomp.llm.ensemble import Ensemble
from autocomp.llm.errors import LLMConfigError, LLMError
from autocomp.llm.prices import PriceTable
from autocomp.llm.providers import ModelSpec, parse_model_spec
from autocomp.llm.retry import RetryPolicy, call_with_retries
from autocomp.llm.types import Completion, LLMClient, Message, normalize_messages

DEFAULT_CONCURRENCY = 8
# A person answers one prompt at a time.
DEFAULT_LIMITS = {"manual": 1}


class CallRecord(BaseModel):
    """One logical call as the run store records it: what was asked, what came back or what failed."""

    phase: str
    sample_index: int
    provider: str
    model: str
    cache_key: str
    messages: list[Message]
    temperature: float | None
    max_tokens: int
    completion: Completion | None = None
    error_type: str | None = None
    error: str | None = None
    attempts: int = 0
    started_at: float


class LLMService:
    """Completes chats for the search loop.

    Per call: pick a model (the ensemble, keyed by prompt and sample so re-runs pick
    alike), replay from the cache if possible, otherwise reserve the worst case
    against the budget, call the provider under its concurrency limit with retries,
    price the answer, record it in the ledger, cache it and report it to ``on_call``.

    With ``no_cache`` the cache is not read but fresh answers are still written, so
    a later run without the switch replays the newest answers.
    """

    def __init__(
        self,
        models: Ensemble | str | ModelSpec,
        clients: Mapping[str, LLMClient],
        *,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
        prices: PriceTable | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int | Mapping[str, int] = DEFAULT_CONCURRENCY,
        no_cache: bool = False,
        on_call: Callable[[CallRecord], None] | None = None,
        ledger: Ledger | None = None,
    ):
        self.models = models if isinstance(models, Ensemble) else Ensemble.single(models)
        self.clients = dict(clients)
        missing = sorted({s.provider for s in self.models.specs} - set(self.clients))
        if missing:
            raise LLMConfigError(f"No client configured for provider(s) {missing} used by {self.models!r}.")
        self.cache = cache
        self.budget = budget or Budget()
        self.prices = prices or PriceTable()
        self.retry = retry or RetryPolicy()
        self.no_cache = no_cache
        self.on_call = on_call
        self.ledger = ledger or Ledger()
        self._limits = {p: threading.BoundedSemaphore(_limit(concurrency, p)) for p in self.clients}

    def complete(
        self,
        messages: Sequence[Message],
        *,
        phase: str,
        sample_index: int = 0,
        temperature: float | None = None,
        max_tokens: int = 8192,
        stop: Sequence[str] | None = None,
        model: str | ModelSpec | None = None,
    ) -> Completion:
        """Answer ``messages``; ``model`` overrides the ensemble for this call.

        Raises :class:`BudgetExceeded` before a call that could overrun the budget
        and an :class:`LLMError` subclass when the provider fails for good.
        """
        msgs = normalize_messages(messages)
        stop_list = list(stop) if stop else None
        spec = parse_model_spec(model) if model is not None else self.models.choose(_routing_key(msgs, sample_index))
        client = self.clients.get(spec.provider)
        if client is None:
            raise LLMConfigError(f"No client configured for provider {spec.provider!r} (model {spec.id}).")
        key = request_key(
            spec.provider,
            spec.model,
            msgs,
            temperature=temperature,
            max_tokens=max_tokens,
            stop=stop_list,
            sample_index=sample_index,
        )
        record = CallRecord(
            phase=phase,
            sample_index=sample_index,
            provider=spec.provider,
            model=spec.model,
            cache_key=key,
            messages=msgs,
            temperature=temperature,
            max_tokens=max_tokens,
            started_at=time.time(),
        )

        if self.cache is not None and not self.no_cache:
            cached = self.cache.get(key)
            if cached is not None:
                hit = cached.model_copy(update={"cache_hit": True, "cost_usd": 0.0, "latency_s": 0.0})
                self.ledger.record(phase, hit)
                self._emit(record.model_copy(update={"completion": hit}))
                return hit

        reservation = self.budget.reserve(self.estimate(msgs, max_tokens, spec), what=f"this {phase} call to {spec.id}")
        attempts = 0

        def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            # Held per attempt, not across backoff sleeps, so waiting calls do not block others.
            with self._limits[spec.provider]:
                return client.complete(
                    msgs, model=spec.model, temperature=temperature, max_tokens=max_tokens, stop=stop_list
                )

        try:
            completion = call_with_retries(attempt, self.retry, what=spec.id)
        except LLMError as err:
            self.budget.release(reservation)
            self.ledger.record_failure(phase, spec.id)
            self._emit(
                record.model_copy(update={"error_type": type(err).__name__, "error": str(err), "attempts": attempts})
            )
            raise
        except BaseException:
            self.budget.release(reservation)
            raise
        completion = completion.model_copy(update={"cost_usd": self.prices.cost(completion), "cache_hit": False})
        self.budget.commit(
            reservation,
            tokens=completion.input_tokens + completion.output_tokens,
            cost_usd=completion.cost_usd,
        )
        self.ledger.record(phase, completion)
        if self.cache is not None:
            self.cache.put(key, completion)
        self._emit(record.model_copy(update={"completion": completion, "attempts": attempts}))
        return completion

    def estimate(self, messages: Sequence[Message], max_tokens: int, model: str | ModelSpec) -> CallEstimate:
        """Worst-case tokens and dollars of one call, as the budget sees it."""
        return estimate_call(messages, max_tokens, parse_model_spec(model), self.prices)

    def usage(self) -> UsageReport:
        """Tokens and dollars so far, in total, per phase and per model."""
        return self.ledger.report()

    def close(self) -> None:
        """Close the response cache."""
        if self.cache is not None:
            self.cache.close()

    def _emit(self, record: CallRecord) -> None:
        if self.on_call is not None:
            self.on_call(record)


def _limit(concurrency: int | Mapping[str, int], provider: str) -> int:
    default = DEFAULT_LIMITS.get(provider, DEFAULT_CONCURRENCY)
    if isinstance(concurrency, Mapping):
        return int(concurrency.get(provider, default))
    return DEFAULT_LIMITS.get(provider, int(concurrency))


def _routing_key(messages: Sequence[Message], sample_index: int) -> str:
    blob = json.dumps([list(messages), sample_index], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
