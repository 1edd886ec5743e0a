"""Adapter for OpenAI's chat completions API through the official ``openai`` SDK."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import openai

from autocomp.llm.charging import charge_usage
from autocomp.llm.endpoint import call_sdk, malformed_response, not_json, resolve_endpoint
from autocomp.llm.limits import guarded_http_client
from autocomp.llm.providers import PROVIDERS, ProviderInfo
from autocomp.llm.types import Completion, Message

# Sent when a local server needs no key: the SDK insists on some string.
DUMMY_API_KEY = "EMPTY"


class OpenAIClient:
    """Talks to ``api.openai.com`` (or ``OPENAI_BASE_URL``). Reads ``OPENAI_API_KEY``.

    One ``complete`` call is one HTTP request: the SDK's retries are off because
    :mod:`autocomp.llm.retry` does them.
    """

    # OpenAI's reasoning models reject ``max_tokens``; compatible servers mostly only know it.
    _max_tokens_param = "max_completion_tokens"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 300.0,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        info: ProviderInfo = PROVIDERS["openai"],
    ):
        self.endpoint, api_key = resolve_endpoint(
            info, api_key=api_key, base_url=base_url, timeout_s=timeout_s, env=os.environ if env is None else env
        )
        self.provider = info.name
        self._clock = clock
        self._sdk = openai.OpenAI(
            api_key=api_key or DUMMY_API_KEY,
            base_url=self.endpoint.base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=guarded_http_client(openai),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={self.endpoint.base_url!r})"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int,
        stop: Sequence[str] | None,
    ) -> Completion:
        """Send one chat completion request and return the normalised answer."""
        kwargs: dict[str, Any] = {self._max_tokens_param: max_tokens}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if stop:
            kwargs["stop"] = list(stop)
        start = self._clock()
        resp = call_sdk(
            lambda: self._sdk.chat.completions.create(model=model, messages=list(messages), **kwargs),
            openai,
            self.endpoint,
            model,
            max_tokens=max_tokens,
        )
        return self._parse(resp, messages, model, max_tokens, self._clock() - start)

    def _parse(
        self, resp: Any, messages: Sequence[Message], model: str, max_tokens: int, latency_s: float
    ) -> Completion:
        if isinstance(resp, str):
            raise not_json(self.endpoint, model, resp)
        choices = getattr(resp, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise malformed_response(self.endpoint, model, f"no choices in {str(resp)[:200]!r}")
        choice = choices[0]
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None)
        finish = getattr(choice, "finish_reason", None)
        if text is None and finish is None:
            raise malformed_response(self.endpoint, model, "choices[0] has neither message.content nor finish_reason")
        if text is not None and not isinstance(text, str):
            raise malformed_response(self.endpoint, model, f"message.content is {type(text).__name__}, not text")
        text = text or ""
        usage = getattr(resp, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        # A missing or garbled usage report is charged as the call's worst case (see autocomp.llm.charging).
        charge = charge_usage(
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            cached_tokens=getattr(details, "cached_tokens", None),
            messages=messages,
            text=text,
            max_tokens=max_tokens,
        )
        return Completion(
            text=text,
            finish_reason=str(finish or "stop"),
            input_tokens=charge.input_tokens,
            output_tokens=charge.output_tokens,
            cached_tokens=charge.cached_tokens,
            latency_s=latency_s,
            provider=self.provider,
            model=model,
            usage_notes=charge.notes,
        )
