"""What the SDK-backed adapters share: where requests go, with which key, and what failures mean.

The ``openai`` and ``anthropic`` SDKs share one exception layout (``APIStatusError``
with ``status_code``/``response``/``body``, ``APITimeoutError``, ``APIConnectionError``),
so one translator turns both into :mod:`autocomp.llm.errors` with advice a user can follow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, TypeVar

from autocomp.llm.errors import (
    AuthenticationError,
    BadRequestError,
    LLMError,
    LLMTimeoutError,
    MalformedResponseError,
    MissingAPIKeyError,
    ModelNotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    ServerUnreachableError,
)
from autocomp.llm.limits import ResponseTooLarge, UndecodableBody, response_limits
from autocomp.llm.providers import ProviderInfo
from autocomp.llm.redact import register_secret
from autocomp.llm.retry import parse_retry_after

T = TypeVar("T")

# 408 request timeout, 409 lock conflict and 529 Anthropic "overloaded" are transient too.
_TRANSIENT_STATUS = {408, 409, 529}
_DETAIL_CHARS = 500


@dataclass(frozen=True)
class Endpoint:
    """Where an adapter sends requests, for error messages."""

    info: ProviderInfo
    base_url: str
    timeout_s: float
    key_source: Literal["env", "argument", "none"]

    @property
    def base_url_hint(self) -> str:
        """Where the user sets the URL."""
        if self.info.local:
            return f"--llm-base-url or {self.info.base_url_env}"
        return str(self.info.base_url_env)


def resolve_endpoint(
    info: ProviderInfo, *, api_key: str | None, base_url: str | None, timeout_s: float, env: Mapping[str, str]
) -> tuple[Endpoint, str | None]:
    """The endpoint and key for ``info``: explicit arguments win over ``<PROVIDER>_*`` env vars and defaults.

    The key is registered with :mod:`autocomp.llm.redact` before anything can echo it.
    """
    source: Literal["env", "argument", "none"] = "argument"
    if api_key is None:
        api_key = (info.key_env and env.get(info.key_env)) or None
        source = "env" if api_key else "none"
    if api_key is None and info.key_required:
        raise MissingAPIKeyError(
            f"{info.key_env} is not set. Export {info.key_env}=<your key> to use {info.name} models, "
            "or pick a local model such as vllm:MODEL.",
            provider=info.name,
        )
    register_secret(api_key)
    url = base_url or (info.base_url_env and env.get(info.base_url_env)) or info.default_base_url
    return Endpoint(info, str(url), timeout_s, source), api_key


# The command-line option and config key that set the LLM request timeout.
TIMEOUT_OPTION = "--llm-timeout (timeout in the config file's [llm] table)"


def call_sdk(request: Callable[[], T], sdk: ModuleType, endpoint: Endpoint, model: str, *, max_tokens: int) -> T:
    """Run one SDK request under the size and time limits of ``max_tokens``, turning failures into ``LLMError``s.

    The SDK client must be built with :func:`autocomp.llm.limits.guarded_http_client`.
    """
    try:
        with response_limits(max_tokens, endpoint.timeout_s):
            return request()
    except sdk.APIError as exc:
        # Some SDK versions wrap whatever the HTTP hooks raise into a connection error.
        refused = _limit_refusal(exc)
        failure = (
            translate_sdk_error(exc, sdk, endpoint, model)
            if refused is None
            else limit_failure(refused, endpoint, model, max_tokens)
        )
    except (ResponseTooLarge, UndecodableBody) as exc:
        failure = limit_failure(exc, endpoint, model, max_tokens)
    except json.JSONDecodeError as exc:  # a body labelled JSON that is not, or was cut short
        failure = malformed_response(endpoint, model, f"invalid JSON ({exc})")
    # Raised after the except blocks so the SDK exception, which holds the request
    # headers and thus the key, is not chained onto ours as __context__.
    raise failure


def _limit_refusal(exc: BaseException) -> ResponseTooLarge | UndecodableBody | None:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, (ResponseTooLarge, UndecodableBody)):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def limit_failure(
    exc: ResponseTooLarge | UndecodableBody, endpoint: Endpoint, model: str, max_tokens: int
) -> LLMError:
    """The error for a body the HTTP hooks refused to read."""
    if isinstance(exc, UndecodableBody):
        return malformed_response(endpoint, model, str(exc))
    return ResponseTooLargeError(
        f"{endpoint.info.name}:{model} at {endpoint.base_url} sent more than max_tokens={max_tokens:,} can "
        f"hold ({exc}); the answer was refused unread and not stored. The server ignores max_tokens: "
        "check the model and server.",
        billable=200 <= exc.status < 300,
        provider=endpoint.info.name,
        model=model,
    )


# Exceptions of httpx / httpx2 (whichever the SDK uses) meaning the connection broke after it was made.
_TRUNCATED = {"RemoteProtocolError"}
_RESET = {"ReadError", "WriteError"}


def _dropped_connection(exc: BaseException) -> tuple[str, str] | None:
    """("truncated" | "reset", what happened) when the SDK's connection error hides a broken exchange."""
    cause = exc.__cause__ or exc.__context__
    if cause is None:
        return None
    names = {cls.__name__ for cls in type(cause).__mro__}
    text = str(cause)[:_DETAIL_CHARS] or type(cause).__name__
    if names & _TRUNCATED:
        return "truncated", text
    if names & _RESET:
        return "reset", text
    return None


def _detail(exc: Any) -> str:
    """The server's own error message, short, from the JSON body when there is one."""
    body = getattr(exc, "body", None)
    text = None
    if isinstance(body, dict):
        err = body.get("error", body)
        text = err.get("message") if isinstance(err, dict) else str(err)
    if not text:
        text = getattr(exc, "message", None) or str(exc)
    return str(text)[:_DETAIL_CHARS]


def not_json(endpoint: Endpoint, model: str, body: str) -> MalformedResponseError:
    """The error for a success status whose body is not JSON at all (an HTML error page from a proxy, say)."""
    start = body.lstrip()[:80]
    return malformed_response(endpoint, model, f"the body is not JSON but text starting {start!r}")


def malformed_response(endpoint: Endpoint, model: str, why: str) -> MalformedResponseError:
    """The error for an answer that arrived but holds no usable completion."""
    return MalformedResponseError(
        f"{endpoint.info.name}:{model} at {endpoint.base_url} returned a malformed response: {why}",
        provider=endpoint.info.name,
        model=model,
    )


def translate_sdk_error(exc: Exception, sdk: ModuleType, endpoint: Endpoint, model: str) -> LLMError:
    """Map one SDK exception to the matching ``LLMError`` for ``model`` at ``endpoint``."""
    info = endpoint.info
    where = f"{info.name}:{model} at {endpoint.base_url}"
    ids = {"provider": info.name, "model": model}
    if isinstance(exc, sdk.APITimeoutError):
        return LLMTimeoutError(
            f"{where} did not answer within {endpoint.timeout_s:g}s; if the model is slow raise "
            f"{TIMEOUT_OPTION}, otherwise check the server is healthy.",
            **ids,
        )
    dropped = _dropped_connection(exc) if isinstance(exc, sdk.APIConnectionError) else None
    if dropped is not None:
        kind, cause = dropped
        if kind == "truncated":
            return MalformedResponseError(f"{where} sent a truncated or invalid HTTP response ({cause})", **ids)
        return ServerUnreachableError(f"The connection to {where} was reset mid-request ({cause})", **ids)
    if isinstance(exc, sdk.APIConnectionError):
        running = "that the server is running and " if info.local else "your network connection and "
        return ServerUnreachableError(
            f"Could not connect to {info.name} at {endpoint.base_url}. Check {running}"
            f"that the URL is right ({endpoint.base_url_hint}).",
            **ids,
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponseError(f"{where} sent a response the SDK could not parse: {_detail(exc)}", **ids)
    if not isinstance(exc, sdk.APIStatusError):
        return LLMError(f"{where} failed: {type(exc).__name__}: {_detail(exc)}", **ids)

    status = exc.status_code
    detail = _detail(exc)
    if status in (401, 403):
        if info.key_required or endpoint.key_source == "env":
            fix = (
                f"{info.key_env} was rejected by {info.name} (HTTP {status}: {detail}). "
                f"Set {info.key_env} to a valid key."
            )
        elif endpoint.key_source == "argument":
            fix = (
                f"The API key passed for {info.name} (api_key of the LLM settings) was rejected "
                f"(HTTP {status}: {detail}). Pass a valid key, or none and set {info.key_env}."
            )
        else:
            fix = (
                f"{info.name} at {endpoint.base_url} wants an API key (HTTP {status}: {detail}). "
                f"Set {info.key_env}=<your key>."
            )
        return AuthenticationError(fix, **ids)
    if status == 404:
        return ModelNotFoundError(
            f"{where}: model {model!r} was not found (HTTP 404: {detail}). Check the model name"
            + (", that the server has it loaded," if info.local else "")
            + f" and that the base URL is right ({endpoint.base_url_hint}).",
            **ids,
        )
    if status == 429:
        return RateLimitError(
            f"{where} is rate limiting us (HTTP 429: {detail})",
            retry_after=parse_retry_after(exc.response.headers),
            **ids,
        )
    if status >= 500 or status in _TRANSIENT_STATUS:
        return ServerError(
            f"{where} failed with HTTP {status}: {detail}",
            retry_after=parse_retry_after(exc.response.headers),
            **ids,
        )
    hint = ""
    if "temperature" in detail.lower():
        hint = " Reasoning models accept only their default temperature: leave temperature unset."
    return BadRequestError(f"{where} rejected the request (HTTP {status}: {detail}).{hint}", **ids)
