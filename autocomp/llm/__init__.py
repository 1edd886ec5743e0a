"""LLM access for autocomp: provider adapters, response cache, token and dollar accounting, budgets.

The search loop uses one :class:`LLMService`. Build it from settings::

    settings = LLMSettings(models={"anthropic:claude-sonnet-4-5": 3, "vllm:qwen3-coder": 1},
                           cache_path=run_dir / "llm_cache.sqlite", max_usd=5.0)
    llm = build_service(settings, on_call=store.record_llm_call)
    answer = llm.complete(messages, phase="plan", sample_index=0, temperature=0.7, max_tokens=4096)
    llm.usage().by_phase["plan"].cost_usd

or by hand from ``{provider: client}`` in tests. Errors are :class:`LLMError`
subclasses; :class:`BudgetExceeded` (not an ``LLMError``) means stop the run.
What a call is charged, and how large an answer may be, is in :mod:`autocomp.llm.charging`
and :mod:`autocomp.llm.limits`.
"""

from autocomp.llm.accounting import Ledger, Usage, UsageReport
from autocomp.llm.budget import (
    Budget,
    CallEstimate,
    PhaseEstimate,
    RunCostEstimate,
    estimate_call,
    estimate_run_cost,
)
from autocomp.llm.cache import ResponseCache, request_key
from autocomp.llm.ensemble import Ensemble
from autocomp.llm.errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceeded,
    LLMConfigError,
    LLMError,
    LLMTimeoutError,
    MalformedResponseError,
    ManualResponseTimeout,
    MissingAPIKeyError,
    ModelNotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    ServerUnreachableError,
    TransientLLMError,
    UnknownProviderError,
)
from autocomp.llm.prices import DEFAULT_PRICES, Price, PriceTable
from autocomp.llm.providers import PROVIDERS, ModelSpec, ProviderInfo, parse_model_spec
from autocomp.llm.retry import RetryPolicy
from autocomp.llm.service import CallRecord, LLMService
from autocomp.llm.settings import LLMSettings, build_service, create_client
from autocomp.llm.types import Completion, LLMClient, Message

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceeded",
    "CallEstimate",
    "CallRecord",
    "Completion",
    "DEFAULT_PRICES",
    "Ensemble",
    "LLMClient",
    "LLMConfigError",
    "LLMError",
    "LLMService",
    "LLMSettings",
    "LLMTimeoutError",
    "Ledger",
    "MalformedResponseError",
    "ManualResponseTimeout",
    "Message",
    "MissingAPIKeyError",
    "ModelNotFoundError",
    "ModelSpec",
    "PROVIDERS",
    "PhaseEstimate",
    "Price",
    "PriceTable",
    "ProviderInfo",
    "RateLimitError",
    "ResponseCache",
    "ResponseTooLargeError",
    "RetryPolicy",
    "RunCostEstimate",
    "ServerError",
    "ServerUnreachableError",
    "TransientLLMError",
    "UnknownProviderError",
    "Usage",
    "UsageReport",
    "build_service",
    "create_client",
    "estimate_call",
    "estimate_run_cost",
    "parse_model_spec",
    "request_key",
]
