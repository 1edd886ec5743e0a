"""Which providers exist, where they listen, which env vars they read, and ``provider:model`` names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from autocomp.llm.errors import LLMConfigError, UnknownProviderError

AdapterKind = Literal["openai", "openai-compatible", "anthropic", "manual"]


@dataclass(frozen=True)
class ProviderInfo:
    """Static facts about one provider name.

    ``local`` providers are priced at $0 unless the price table says otherwise
    (an OpenAI-compatible endpoint can be a paid remote service).
    """

    name: str
    adapter: AdapterKind
    default_base_url: str | None
    key_env: str | None
    base_url_env: str | None
    local: bool
    key_required: bool


PROVIDERS: dict[str, ProviderInfo] = {
    p.name: p
    for p in [
        ProviderInfo(
            "openai",
            "openai",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            local=False,
            key_required=True,
        ),
        ProviderInfo(
            "anthropic",
            "anthropic",
            "https://api.anthropic.com",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            local=False,
            key_required=True,
        ),
        ProviderInfo(
            "openai-compatible",
            "openai-compatible",
            "http://localhost:8000/v1",
            "OPENAI_COMPATIBLE_API_KEY",
            "OPENAI_COMPATIBLE_BASE_URL",
            local=True,
            key_required=False,
        ),
        ProviderInfo(
            "vllm",
            "openai-compatible",
            "http://localhost:8000/v1",
            "VLLM_API_KEY",
            "VLLM_BASE_URL",
            local=True,
            key_required=False,
        ),
        ProviderInfo(
            "ollama",
            "openai-compatible",
            "http://localhost:11434/v1",
            "OLLAMA_API_KEY",
            "OLLAMA_BASE_URL",
            local=True,
            key_required=False,
        ),
        ProviderInfo(
            "lmstudio",
            "openai-compatible",
            "http://localhost:1234/v1",
            "LMSTUDIO_API_KEY",
            "LMSTUDIO_BASE_URL",
            local=True,
            key_required=False,
        ),
        ProviderInfo("manual", "manual", None, None, None, local=True, key_required=False),
    ]
}


@dataclass(frozen=True)
class ModelSpec:
    """A model named as ``provider:model``, e.g. ``anthropic:claude-sonnet-4-5``."""

    provider: str
    model: str

    @property
    def id(self) -> str:
        """The canonical ``provider:model`` string."""
        return f"{self.provider}:{self.model}"

    @property
    def info(self) -> ProviderInfo:
        """The provider's static facts."""
        return PROVIDERS[self.provider]

    def __str__(self) -> str:
        return self.id


def parse_model_spec(spec: str | ModelSpec) -> ModelSpec:
    """Parse ``"provider:model"``; the model part may itself contain colons (``ollama:qwen3:8b``)."""
    if isinstance(spec, ModelSpec):
        return spec
    known = ", ".join(sorted(PROVIDERS))
    provider, sep, model = spec.strip().partition(":")
    if not sep:
        raise UnknownProviderError(
            f"Model {spec!r} has no provider prefix; write it as provider:model, "
            f"e.g. anthropic:claude-sonnet-4-5 or vllm:{spec or 'qwen3-coder'}. Known providers: {known}."
        )
    provider = provider.lower()
    if provider not in PROVIDERS:
        close = difflib.get_close_matches(provider, PROVIDERS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownProviderError(f"Unknown LLM provider {provider!r} in {spec!r}.{hint} Known providers: {known}.")
    if not model:
        raise LLMConfigError(f"Model {spec!r} names no model after {provider!r}:, e.g. {provider}:MODEL-NAME.")
    return ModelSpec(provider, model)
