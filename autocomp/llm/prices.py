"""What tokens cost: a default price table as data, user overrides, and the cost of a completion."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields

from autocomp.llm.errors import LLMConfigError
from autocomp.llm.providers import PROVIDERS, parse_model_spec
from autocomp.llm.redact import log
from autocomp.llm.types import Completion

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens. Cache prices default to the plain input price."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, cache_write_tokens: int = 0) -> float:
        """Dollars for one call; ``input_tokens`` includes the cached and cache-write tokens."""
        fresh = max(0, input_tokens - cached_tokens - cache_write_tokens)
        cached = self.input if self.cached_input is None else self.cached_input
        write = self.input if self.cache_write is None else self.cache_write
        total = fresh * self.input + cached_tokens * cached + cache_write_tokens * write + output_tokens * self.output
        return total / PER_MILLION

    def worst_case(self, input_tokens: int, output_tokens: int) -> float:
        """The most a call can cost: every input token at the dearest input rate."""
        dearest = max(self.input, self.cache_write or 0.0)
        return (input_tokens * dearest + output_tokens * self.output) / PER_MILLION


FREE = Price(0.0, 0.0, 0.0, 0.0)

# List prices (USD per million tokens, standard tier) as published by the providers in late 2025.
# Check https://openai.com/api/pricing and https://www.anthropic.com/pricing; override in config.
PRICES_AS_OF = "2025-11"
DEFAULT_PRICES: dict[str, Price] = {
    "openai:gpt-5": Price(1.25, 10.00, 0.125),
    "openai:gpt-5.1": Price(1.25, 10.00, 0.125),
    "openai:gpt-5-codex": Price(1.25, 10.00, 0.125),
    "openai:gpt-5.1-codex": Price(1.25, 10.00, 0.125),
    "openai:gpt-5-mini": Price(0.25, 2.00, 0.025),
    "openai:gpt-5-nano": Price(0.05, 0.40, 0.005),
    "openai:gpt-4.1": Price(2.00, 8.00, 0.50),
    "openai:gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "openai:gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "openai:gpt-4o": Price(2.50, 10.00, 1.25),
    "openai:gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openai:o3": Price(2.00, 8.00, 0.50),
    "openai:o3-mini": Price(1.10, 4.40, 0.55),
    "openai:o4-mini": Price(1.10, 4.40, 0.275),
    # Anthropic: cache reads cost 0.1x input, 5-minute cache writes 1.25x input.
    "anthropic:claude-opus-4-5": Price(5.00, 25.00, 0.50, 6.25),
    "anthropic:claude-opus-4-1": Price(15.00, 75.00, 1.50, 18.75),
    "anthropic:claude-opus-4": Price(15.00, 75.00, 1.50, 18.75),
    "anthropic:claude-sonnet-4-5": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-sonnet-4": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-3-7-sonnet": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-haiku-4-5": Price(1.00, 5.00, 0.10, 1.25),
    "anthropic:claude-3-5-haiku": Price(0.80, 4.00, 0.08, 1.00),
}

# Snapshot suffixes (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929, ...-latest) share the base price.
_SNAPSHOT_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)$")
_PRICE_FIELDS = {f.name for f in fields(Price)}


def _to_price(name: str, value: Price | Mapping[str, float]) -> Price:
    if isinstance(value, Price):
        return value
    unknown = set(value) - _PRICE_FIELDS
    if unknown or not {"input", "output"} <= set(value):
        raise LLMConfigError(
            f"Price for {name!r} must be a table with input and output (and optionally cached_input, "
            f"cache_write) in USD per million tokens; got keys {sorted(value)}."
        )
    try:
        return Price(**{k: float(v) for k, v in value.items()})
    except (TypeError, ValueError) as exc:
        raise LLMConfigError(f"Price for {name!r} has a non-numeric value: {dict(value)}") from exc


class PriceTable:
    """Looks up the price of ``provider:model``; user ``overrides`` win over the defaults.

    Local providers cost $0 unless overridden. An unknown model is priced at $0 with
    one warning per model saying how to add its price.
    """

    def __init__(self, overrides: Mapping[str, Price | Mapping[str, float]] | None = None):
        self._prices = dict(DEFAULT_PRICES)
        for name, value in (overrides or {}).items():
            self._prices[parse_model_spec(name).id] = _to_price(name, value)
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def lookup(self, provider: str, model: str) -> Price | None:
        """The price, ``FREE`` for local providers, or None when unknown."""
        for name in (model, _SNAPSHOT_SUFFIX.sub("", model)):
            price = self._prices.get(f"{provider}:{name}")
            if price is not None:
                return price
        info = PROVIDERS.get(provider)
        return FREE if info is not None and info.local else None

    def price_or_free(self, provider: str, model: str) -> Price:
        """Like :meth:`lookup`, but an unknown model warns once and is treated as free."""
        price = self.lookup(provider, model)
        if price is not None:
            return price
        model_id = f"{provider}:{model}"
        with self._lock:
            first = model_id not in self._warned
            self._warned.add(model_id)
        if first:
            log.warning(
                "No price known for %s, so its cost is recorded as $0 and --max-usd cannot limit it. "
                'Add it to the config file, e.g. [llm.prices] "%s" = { input = 1.25, output = 10.0, '
                "cached_input = 0.125 } (USD per million tokens).",
                model_id,
                model_id,
            )
        return FREE

    def cost(self, completion: Completion) -> float:
        """Dollars a completion cost."""
        price = self.price_or_free(completion.provider, completion.model)
        return price.cost(
            completion.input_tokens,
            completion.output_tokens,
            completion.cached_tokens,
            completion.cache_write_tokens,
        )
