"""Hard limits on dollars, calls and tokens, checked before spending, and run cost estimates."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autocomp.llm.ensemble import Ensemble
from autocomp.llm.errors import BudgetExceeded
from autocomp.llm.prices import FREE, PriceTable
from autocomp.llm.providers import ModelSpec
from autocomp.llm.types import CHARS_PER_TOKEN, TOKENS_PER_MESSAGE, Message, estimate_input_tokens

# Float sums of many small costs drift; never refuse a call over a rounding error.
_EPSILON_USD = 1e-9


@dataclass(frozen=True)
class CallEstimate:
    """Worst case for one call: estimated input plus the full ``max_tokens`` of output."""

    input_tokens: int
    output_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def estimate_call(messages: Sequence[Message], max_tokens: int, spec: ModelSpec, prices: PriceTable) -> CallEstimate:
    """The most one call could use, input estimated at ~4 characters per token."""
    input_tokens = estimate_input_tokens(messages)
    price = prices.price_or_free(spec.provider, spec.model)
    return CallEstimate(input_tokens, max_tokens, price.worst_case(input_tokens, max_tokens))


@dataclass
class Reservation:
    """A call's worst case, held against the budget while the call is in flight."""

    tokens: int
    cost_usd: float
    settled: bool = field(default=False)


class Budget:
    """Limits for one run. ``None`` means unlimited.

    :meth:`reserve` refuses a call whose worst case, added to what has been spent
    and what calls in flight may still spend, could pass a limit; so a run stops
    before it overspends. Only successful calls count (and answers refused as too
    large, which the provider bills); a failed call gives its reservation back.

    A call is committed at what it was charged (:mod:`autocomp.llm.charging`), which
    can pass its reservation only when the provider reports more than the request
    allowed (or a prompt tokenizes denser than estimated). Once a limit is reached
    or passed that way, every later call is refused at once: calls in flight finish,
    and the spend passes the limit by at most what those calls were charged.
    :attr:`exhausted` keeps the first refusal, with the spent and cap figures, for
    the run's result.
    """

    def __init__(self, max_usd: float | None = None, max_llm_calls: int | None = None, max_tokens: int | None = None):
        self.max_usd = max_usd
        self.max_llm_calls = max_llm_calls
        self.max_tokens = max_tokens
        self.spent_usd = 0.0
        self.calls = 0
        self.tokens = 0
        self.exhausted: BudgetExceeded | None = None
        self._overrun: str | None = None
        self._pending_usd = 0.0
        self._pending_tokens = 0
        self._pending_calls = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Budget(max_usd={self.max_usd}, max_llm_calls={self.max_llm_calls}, "
            f"max_tokens={self.max_tokens}; "
            f"spent ${self.spent_usd:.4f}, {self.calls} calls, {self.tokens} tokens)"
        )

    def reserve(self, estimate: CallEstimate, *, what: str = "the next LLM call") -> Reservation:
        """Hold ``estimate`` against the limits or raise :class:`BudgetExceeded`."""
        with self._lock:
            try:
                self._check(estimate, what)
            except BudgetExceeded as refusal:
                if self.exhausted is None:
                    self.exhausted = refusal
                raise
            self._pending_usd += estimate.cost_usd
            self._pending_tokens += estimate.tokens
            self._pending_calls += 1
            return Reservation(estimate.tokens, estimate.cost_usd)

    def _check(self, estimate: CallEstimate, what: str) -> None:
        overrun = f" {self._overrun}" if self._overrun else ""
        if self.max_usd is not None and self.spent_usd > self.max_usd + _EPSILON_USD:
            raise BudgetExceeded(
                f"LLM budget exhausted: ${self.spent_usd:,.4f} spent of max_usd=${self.max_usd:,.2f}.{overrun} "
                f"No further LLM call is made; the run stopped before {what}. "
                "Raise --max-usd and continue the run with --resume.",
                limit="max_usd",
                remaining=self.max_usd - self.spent_usd,
                needed=estimate.cost_usd,
                spent=self.spent_usd,
                cap=self.max_usd,
            )
        if self.max_tokens is not None and self.tokens > self.max_tokens:
            raise BudgetExceeded(
                f"LLM token budget exhausted: {self.tokens:,} tokens used of max_tokens={self.max_tokens:,}."
                f"{overrun} No further LLM call is made; the run stopped before {what}. "
                "Raise the token budget (max_tokens of the LLM settings) to continue.",
                limit="max_tokens",
                remaining=self.max_tokens - self.tokens,
                needed=estimate.tokens,
                spent=self.tokens,
                cap=self.max_tokens,
            )
        if self.max_llm_calls is not None and self.calls + self._pending_calls + 1 > self.max_llm_calls:
            left = self.max_llm_calls - self.calls - self._pending_calls
            raise BudgetExceeded(
                f"LLM budget exhausted: max_llm_calls={self.max_llm_calls} and {self.calls} calls made "
                f"({self._pending_calls} in flight); the run stopped before {what}. "
                "Raise --max-llm-calls and continue the run with --resume.",
                limit="max_llm_calls",
                remaining=left,
                needed=1,
                spent=self.calls,
                cap=self.max_llm_calls,
            )
        if self.max_tokens is not None:
            left = self.max_tokens - self.tokens - self._pending_tokens
            if estimate.tokens > left:
                raise BudgetExceeded(
                    f"LLM token budget exhausted: {what} could use up to {estimate.tokens:,} tokens "
                    f"(~{estimate.input_tokens:,} in + {estimate.output_tokens:,} out) but only "
                    f"{left:,} of max_tokens={self.max_tokens:,} remain ({self.tokens:,} used); the run stopped "
                    "before spending them. Raise the token budget (max_tokens of the LLM settings) or lower "
                    "the call's max_tokens.",
                    limit="max_tokens",
                    remaining=left,
                    needed=estimate.tokens,
                    spent=self.tokens,
                    cap=self.max_tokens,
                )
        if self.max_usd is not None:
            left_usd = self.max_usd - self.spent_usd - self._pending_usd
            if estimate.cost_usd > left_usd + _EPSILON_USD:
                raise BudgetExceeded(
                    f"LLM budget exhausted: {what} could cost up to ${estimate.cost_usd:.4f} "
                    f"(~{estimate.input_tokens:,} in + {estimate.output_tokens:,} out tokens) but only "
                    f"${max(left_usd, 0.0):.4f} of max_usd=${self.max_usd:.2f} remains "
                    f"(${self.spent_usd:.4f} spent); the run stopped before spending it. "
                    "Raise --max-usd and continue the run with --resume.",
                    limit="max_usd",
                    remaining=left_usd,
                    needed=estimate.cost_usd,
                    spent=self.spent_usd,
                    cap=self.max_usd,
                )

    def commit(self, reservation: Reservation, *, tokens: int, cost_usd: float, note: str = "") -> None:
        """Replace a reservation by what the call was charged; ``note`` says why when it passed the reservation."""
        with self._lock:
            self._unhold(reservation)
            self.calls += 1
            self.tokens += tokens
            self.spent_usd += cost_usd
            over_usd = self.max_usd is not None and self.spent_usd > self.max_usd + _EPSILON_USD
            over_tokens = self.max_tokens is not None and self.tokens > self.max_tokens
            if (over_usd or over_tokens) and self._overrun is None:
                self._overrun = (
                    f"The call that passed the limit was charged ${cost_usd:,.4f} ({tokens:,} tokens) against a "
                    f"reservation of ${reservation.cost_usd:,.4f} ({reservation.tokens:,} tokens)"
                    + (f": {note}." if note else ".")
                )

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose call failed."""
        with self._lock:
            self._unhold(reservation)

    def _unhold(self, reservation: Reservation) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        self._pending_usd -= reservation.cost_usd
        self._pending_tokens -= reservation.tokens
        self._pending_calls -= 1


@dataclass(frozen=True)
class PhaseEstimate:
    """Expected calls, tokens and dollars of one phase."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class RunCostEstimate:
    """Expected totals of a run, for ``autocomp optimize --dry-run``."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    by_phase: dict[str, PhaseEstimate]
    unpriced_models: tuple[str, ...]


def estimate_run_cost(
    calls_per_phase: Mapping[str, int],
    *,
    prompt_chars: int | Mapping[str, int],
    output_tokens: int | Mapping[str, int],
    models: Ensemble | ModelSpec | str,
    prices: PriceTable | None = None,
) -> RunCostEstimate:
    """Expected cost of a run from calls per phase and typical prompt/answer sizes.

    Ensemble members are weighted by their share. Prompts are priced as uncached
    input, so providers' prompt caching can only make the real run cheaper.
    ``unpriced_models`` lists models counted at $0 because their price is unknown.
    """
    prices = prices or PriceTable()
    ensemble = models if isinstance(models, Ensemble) else Ensemble.single(models)
    specs = {spec.id: spec for spec in ensemble.specs}
    weighted = [(specs[sid], share) for sid, share in ensemble.shares().items()]
    unpriced = tuple(sorted(spec.id for spec, _ in weighted if prices.lookup(spec.provider, spec.model) is None))
    by_phase: dict[str, PhaseEstimate] = {}
    for phase, calls in calls_per_phase.items():
        chars = prompt_chars[phase] if isinstance(prompt_chars, Mapping) else prompt_chars
        out = output_tokens[phase] if isinstance(output_tokens, Mapping) else output_tokens
        tokens_in = -(-chars // CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE
        per_call = sum(
            share * (prices.lookup(spec.provider, spec.model) or FREE).cost(tokens_in, out) for spec, share in weighted
        )
        by_phase[phase] = PhaseEstimate(calls, calls * tokens_in, calls * out, calls * per_call)
    return RunCostEstimate(
        calls=sum(p.calls for p in by_phase.values()),
        input_tokens=sum(p.input_tokens for p in by_phase.values()),
        output_tokens=sum(p.output_tokens for p in by_phase.values()),
        cost_usd=sum(p.cost_usd for p in by_phase.values()),
        by_phase=by_phase,
        unpriced_models=unpriced,
    )
