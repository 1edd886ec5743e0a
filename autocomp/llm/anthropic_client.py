"""Adapter for Anthropic's Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anthropic

from autocomp.llm.charging import charge_usage, token_count
from autocomp.llm.endpoint import call_sdk, malformed_response, not_json, resolve_endpoint
from autocomp.llm.limits import guarded_http_client
from autocomp.llm.providers import PROVIDERS
from autocomp.llm.types import Completion, Message

# Anthropic's stop reasons, in OpenAI's vocabulary so callers check one set of values.
_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class AnthropicClient:
    """Talks to ``api.anthropic.com`` (or ``ANTHROPIC_BASE_URL``). Reads ``ANTHROPIC_API_KEY``.

    System messages become the top-level ``system`` field, marked with
    ``cache_control: ephemeral`` so the large static context (architecture notes,
    optimisation menu) is billed at the cache-read rate on every call after the first.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 300.0,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        info = PROVIDERS["anthropic"]
        self.endpoint, api_key = resolve_endpoint(
            info, api_key=api_key, base_url=base_url, timeout_s=timeout_s, env=os.environ if env is None else env
        )
        self.provider = info.name
        self._clock = clock
        self._sdk = anthropic.Anthropic(
            api_key=api_key,
            base_url=self.endpoint.base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=guarded_http_client(anthropic),
        )

    def __repr__(self) -> str:
        return f"AnthropicClient(base_url={self.endpoint.base_url!r})"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int,
        stop: Sequence[str] | None,
    ) -> Completion:
        """Send one Messages API request and return the normalised answer."""
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        chat = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        kwargs: dict[str, Any] = {}
        if system:
            kwargs["system"] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        if temperature is not None:
            # Recent SDKs dropped the typed parameter; extra_body sends it with any SDK version.
            kwargs["extra_body"] = {"temperature": temperature}
        if stop:
            kwargs["stop_sequences"] = list(stop)
        start = self._clock()
        resp = call_sdk(
            lambda: self._sdk.messages.create(model=model, max_tokens=max_tokens, messages=chat, **kwargs),
            anthropic,
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
        content = getattr(resp, "content", None)
        if not isinstance(content, list):
            raise malformed_response(self.endpoint, model, f"no content list in {str(resp)[:200]!r}")
        texts = [getattr(b, "text", None) for b in content if getattr(b, "type", None) == "text"]
        if any(not isinstance(t, str) for t in texts):
            raise malformed_response(self.endpoint, model, "a text block has no text")
        stop_reason = getattr(resp, "stop_reason", None)
        if stop_reason is None:
            raise malformed_response(self.endpoint, model, "stop_reason is missing")
        text = "".join(texts)
        usage = getattr(resp, "usage", None)
        raw_fresh = getattr(usage, "input_tokens", None)
        fresh = token_count(raw_fresh)
        cache_read = token_count(getattr(usage, "cache_read_input_tokens", None)) or 0
        cache_write = token_count(getattr(usage, "cache_creation_input_tokens", None)) or 0
        # Anthropic reports cached prompt tokens apart from input_tokens; we count them all as input.
        # A garbled report is charged as the call's worst case (see autocomp.llm.charging).
        charge = charge_usage(
            input_tokens=raw_fresh if fresh is None else fresh + cache_read + cache_write,
            output_tokens=getattr(usage, "output_tokens", None),
            cached_tokens=cache_read,
            cache_write_tokens=cache_write,
            messages=messages,
            text=text,
            max_tokens=max_tokens,
        )
        return Completion(
            text=text,
            finish_reason=_FINISH_REASONS.get(stop_reason, str(stop_reason)),
            input_tokens=charge.input_tokens,
            output_tokens=charge.output_tokens,
            cached_tokens=charge.cached_tokens,
            cache_write_tokens=charge.cache_write_tokens,
            latency_s=latency_s,
            provider=self.provider,
            model=model,
            usage_notes=charge.notes,
        )
