"""LLM settings as the config file and CLI give them, and the factory that builds an ``LLMService``."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, Field, SecretStr

from autocomp.llm.budget import Budget
from autocomp.llm.cache import ResponseCache
from autocomp.llm.ensemble import Ensemble
from autocomp.llm.errors import LLMConfigError
from autocomp.llm.prices import PriceTable
from autocomp.llm.providers import PROVIDERS, parse_model_spec
from autocomp.llm.retry import RetryPolicy
from autocomp.llm.service import DEFAULT_CONCURRENCY, CallRecord, LLMService
from autocomp.llm.types import LLMClient


class LLMSettings(BaseModel):
    """Everything needed to build the LLM layer of a run. Holds no secret in plain text.

    ``models`` maps ``provider:model`` to a weight (or lists models, equally weighted).
    ``base_urls`` sets any provider's URL by name; ``base_url`` (``--llm-base-url``)
    applies to the OpenAI-compatible providers, or to any provider when it is the only
    one in use. ``api_key`` is for the OpenAI-compatible providers only: OpenAI and
    Anthropic keys come from ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` and nowhere else.
    """

    models: dict[str, float] | list[str] = Field(default_factory=lambda: ["anthropic:claude-sonnet-4-5"])
    seed: int = 0
    base_url: str | None = None
    base_urls: dict[str, str] = Field(default_factory=dict)
    api_key: SecretStr | None = None
    timeout_s: float = Field(300.0, gt=0, allow_inf_nan=False)
    max_attempts: int = 5
    concurrency: int | dict[str, int] = DEFAULT_CONCURRENCY
    cache_path: Path | None = None
    no_cache: bool = False
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    max_usd: float | None = None
    max_llm_calls: int | None = None
    max_tokens: int | None = None
    manual_dir: Path | None = None
    manual_stdin: bool = False
    manual_timeout_s: float = 3600.0

    def base_url_for(self, provider: str) -> str | None:
        """The URL configured for ``provider``, or None for its env var / default."""
        if provider in self.base_urls:
            return self.base_urls[provider]
        in_use = {parse_model_spec(m).provider for m in self.models}
        if PROVIDERS[provider].adapter == "openai-compatible" or in_use == {provider}:
            return self.base_url
        return None


def create_client(
    provider: str,
    settings: LLMSettings,
    *,
    env: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
) -> LLMClient:
    """Build the adapter for ``provider``. SDKs are imported only for providers in use.

    With ``max_usd`` set, a model of ``provider`` whose price is unknown fails here:
    it would be counted at $0, so the limit could not stop its spend.
    """
    info = PROVIDERS[provider]
    if settings.max_usd is not None:
        _check_priced(provider, settings)
    base_url = settings.base_url_for(provider)
    if info.adapter == "openai":
        from autocomp.llm.openai_client import OpenAIClient

        return OpenAIClient(base_url=base_url, timeout_s=settings.timeout_s, env=env)
    if info.adapter == "anthropic":
        from autocomp.llm.anthropic_client import AnthropicClient

        return AnthropicClient(base_url=base_url, timeout_s=settings.timeout_s, env=env)
    if info.adapter == "openai-compatible":
        from autocomp.llm.openai_compatible import OpenAICompatibleClient

        key = settings.api_key.get_secret_value() if settings.api_key else None
        return OpenAICompatibleClient(
            provider,
            api_key=key,
            base_url=base_url,
            timeout_s=settings.timeout_s,
            env=env,
        )
    from autocomp.llm.manual import ManualClient

    if settings.manual_dir is None:
        raise LLMConfigError(
            "The manual provider needs a directory for prompt files (manual_dir of the LLM settings; "
            "autocomp optimize uses <run>/manual)."
        )
    return ManualClient(
        settings.manual_dir,
        timeout_s=settings.manual_timeout_s,
        stdin=(stdin or sys.stdin) if settings.manual_stdin else None,
    )


def _check_priced(provider: str, settings: LLMSettings) -> None:
    prices = PriceTable(settings.prices)
    for name in settings.models:
        spec = parse_model_spec(name)
        if spec.provider == provider and prices.lookup(spec.provider, spec.model) is None:
            raise LLMConfigError(
                f"--max-usd cannot limit {spec.id}: autocomp does not know its price, so its calls would count "
                f'as $0. Add it to the config file, e.g. [llm.prices] "{spec.id}" = {{ input = 1.25, '
                "output = 10.0 } (USD per million tokens), or run without --max-usd."
            )


def build_service(
    settings: LLMSettings,
    *,
    on_call: Callable[[CallRecord], None] | None = None,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stdin: TextIO | None = None,
) -> LLMService:
    """Build the service for one run: clients for every provider in the ensemble, cache, budget, prices.

    Missing keys and unknown providers fail here, before the run starts.
    """
    ensemble = Ensemble(settings.models, seed=settings.seed)
    clients = {p: create_client(p, settings, env=env, stdin=stdin) for p in {s.provider for s in ensemble.specs}}
    return LLMService(
        ensemble,
        clients,
        cache=ResponseCache(settings.cache_path) if settings.cache_path else None,
        budget=Budget(settings.max_usd, settings.max_llm_calls, settings.max_tokens),
        prices=PriceTable(settings.prices),
        retry=RetryPolicy(max_attempts=settings.max_attempts, sleep=sleep, rng=random.Random(settings.seed)),
        concurrency=settings.concurrency,
        no_cache=settings.no_cache,
        on_call=on_call,
    )
