"""``LLMService``: the one object the search loop calls. Model choice, cache, budget, retries, accounting."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from autocomp.llm.accounting import Ledger, UsageReport
from autocomp.llm.budget import Budget, CallEstimate, estimate_call
from autocomp.llm.cache import ResponseCache, request_key
from autocomp.llm.charging import charge_usage
from autocomp.llm.ensemble import Ensemble
from autocomp.llm.errors import LLMConfigError, LLMError, ResponseTooLargeError
from autocomp.llm.limits import max_answer_chars
from autocomp.llm.prices import PriceTable
from autocomp.llm.providers import ModelSpec, parse_model_spec
from autocomp.llm.redact import log
from autocomp.llm.retry import RetryPolicy, call_with_retries
from autocomp.llm.types import Completion, LLMClient, Message, normalize_messages

DEFAULT_CONCURRENCY = 8
# A person answers one prompt at a time.
DEFAULT_LIMITS = {"manual": 1}
# Only a complete answer is worth replaying: not one cut off at max_tokens, refused or filtered.
CACHEABLE_FINISH = "stop"
_CODE_LINE = re.compile(r"^[ \t]*def [A-Za-z_]\w*[ \t]*\(", re.MULTILINE)


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
    refuse an answer larger than ``max_tokens`` can hold, charge the answer (never
    below the provider's report, see :mod:`autocomp.llm.charging`), record it in the
    ledger, cache it if it is complete and report it to ``on_call``.

    With ``no_cache`` the cache is not read but fresh answers are still written, so
    a later run without the switch replays the newest answers. Empty, truncated
    (``finish_reason`` other than ``stop``) and failed answers are never cached, nor
    answers without a function definition when the caller ``expects_code``.
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
        expects_code: bool = False,
    ) -> Completion:
        """Answer ``messages``; ``model`` overrides the ensemble for this call.

        Raises :class:`BudgetExceeded` before a call that could overrun the budget
        (or once a limit is spent) and an :class:`LLMError` subclass when the
        provider fails for good, :class:`ResponseTooLargeError` included.
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

        estimate = self.estimate(msgs, max_tokens, spec)
        reservation = self.budget.reserve(estimate, what=f"this {phase} call to {spec.id}")
        attempts = 0

        def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            # Held per attempt, not across backoff sleeps, so waiting calls do not block others.
            with self._limits[spec.provider]:
                answer = client.complete(
                    msgs, model=spec.model, temperature=temperature, max_tokens=max_tokens, stop=stop_list
                )
            return self._checked_size(answer, spec, max_tokens)

        try:
            completion = call_with_retries(attempt, self.retry, what=spec.id)
        except LLMError as err:
            charged = self._charge_refusal(err, estimate, spec)
            if charged is None:
                self.budget.release(reservation)
            else:
                self.budget.commit(reservation, tokens=estimate.tokens, cost_usd=charged.cost_usd, note=str(err))
            self.ledger.record_failure(phase, spec.id, charged)
            update = {"error_type": type(err).__name__, "error": str(err), "attempts": attempts, "completion": charged}
            self._emit(record.model_copy(update=update))
            raise
        except BaseException:
            self.budget.release(reservation)
            raise
        completion = self._charged(completion, msgs, max_tokens)
        if completion.usage_notes:
            log.warning("%s %s call: %s", spec.id, phase, "; ".join(completion.usage_notes))
        self.budget.commit(
            reservation,
            tokens=completion.input_tokens + completion.output_tokens,
            cost_usd=completion.cost_usd,
            note="; ".join(completion.usage_notes),
        )
        self.ledger.record(phase, completion)
        if self.cache is not None and _cacheable(completion, expects_code):
            self.cache.put(key, completion)
        self._emit(record.model_copy(update={"completion": completion, "attempts": attempts}))
        return completion

    def _checked_size(self, completion: Completion, spec: ModelSpec, max_tokens: int) -> Completion:
        """``completion``, unless its text is larger than ``max_tokens`` can hold (whatever the client)."""
        limit = max_answer_chars(max_tokens)
        if len(completion.text) > limit:
            raise ResponseTooLargeError(
                f"{spec.id} answered with {len(completion.text):,} characters, more than max_tokens={max_tokens:,} "
                f"can hold (at most {limit:,}); the answer was refused and not stored.",
                billable=True,
                provider=spec.provider,
                model=spec.model,
            )
        return completion

    def _charged(self, completion: Completion, messages: Sequence[Message], max_tokens: int) -> Completion:
        """``completion`` with the token counts and dollars it is charged at, whatever the client reported."""
        charge = charge_usage(
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cached_tokens=completion.cached_tokens,
            cache_write_tokens=completion.cache_write_tokens,
            messages=messages,
            text=completion.text,
            max_tokens=max_tokens,
        )
        charged = completion.model_copy(
            update={
                "input_tokens": charge.input_tokens,
                "output_tokens": charge.output_tokens,
                "cached_tokens": charge.cached_tokens,
                "cache_write_tokens": charge.cache_write_tokens,
                "usage_notes": tuple(dict.fromkeys(completion.usage_notes + charge.notes)),
                "cache_hit": False,
            }
        )
        return charged.model_copy(update={"cost_usd": self.prices.cost(charged)})

    def _charge_refusal(self, err: LLMError, estimate: CallEstimate, spec: ModelSpec) -> Completion | None:
        """What a failed call costs: nothing, unless the provider produced (and bills) an answer we refused."""
        if not (isinstance(err, ResponseTooLargeError) and err.billable):
            return None
        return Completion(
            text="",
            finish_reason="refused",
            input_tokens=estimate.input_tokens,
            output_tokens=estimate.output_tokens,
            cost_usd=estimate.cost_usd,
            provider=spec.provider,
            model=spec.model,
        )

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


def _cacheable(completion: Completion, expects_code: bool) -> bool:
    """Whether replaying ``completion`` later would be as good as asking again."""
    if completion.finish_reason != CACHEABLE_FINISH or not completion.text.strip():
        return False
    return not expects_code or _CODE_LINE.search(completion.text) is not None


def _limit(concurrency: int | Mapping[str, int], provider: str) -> int:
    default = DEFAULT_LIMITS.get(provider, DEFAULT_CONCURRENCY)
    if isinstance(concurrency, Mapping):
        return int(concurrency.get(provider, default))
    return DEFAULT_LIMITS.get(provider, int(concurrency))


def _routing_key(messages: Sequence[Message], sample_index: int) -> str:
    blob = json.dumps([list(messages), sample_index], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
