"""Adapter for local or self-hosted servers that speak OpenAI's API: vLLM, Ollama, LM Studio."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from autocomp.llm.errors import LLMConfigError
from autocomp.llm.openai_client import OpenAIClient
from autocomp.llm.providers import PROVIDERS


class OpenAICompatibleClient(OpenAIClient):
    """The OpenAI SDK pointed at an explicit base URL, with the key optional.

    ``provider`` is one of ``vllm``, ``ollama``, ``lmstudio`` or ``openai-compatible``;
    each has its default URL (e.g. ``http://localhost:11434/v1`` for Ollama) and reads
    ``<PROVIDER>_API_KEY`` / ``<PROVIDER>_BASE_URL`` so an OpenAI key is never sent
    to a third-party server by accident.
    """

    _max_tokens_param = "max_tokens"

    def __init__(
        self,
        provider: str = "openai-compatible",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 300.0,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        info = PROVIDERS.get(provider)
        if info is None or info.adapter != "openai-compatible":
            names = sorted(p.name for p in PROVIDERS.values() if p.adapter == "openai-compatible")
            raise LLMConfigError(f"{provider!r} is not an OpenAI-compatible provider; use one of {names}.")
        super().__init__(api_key=api_key, base_url=base_url, timeout_s=timeout_s, env=env, clock=clock, info=info)
