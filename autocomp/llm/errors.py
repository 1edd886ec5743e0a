"""What can go wrong talking to a model, as exceptions a user can act on.

Transient errors (rate limits, 5xx, timeouts, refused or dropped connections,
bodies that are not a usable completion) subclass :class:`TransientLLMError` and
are retried; everything else fails the call at once.
:class:`BudgetExceeded` is deliberately *not* an ``LLMError``: a handler that skips
one failed candidate must not swallow the signal that the whole run has to stop.
"""

from __future__ import annotations

from autocomp.llm.redact import scrub


class LLMError(Exception):
    """Base of every error from a provider call. The message never contains a key."""

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None):
        self.message = scrub(message)
        self.provider = provider
        self.model = model
        self.attempts = 1
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} (gave up after {self.attempts} attempts)"
        return self.message


class LLMConfigError(LLMError, ValueError):
    """The LLM setup is wrong before any request: unknown provider, missing key, bad option."""


class UnknownProviderError(LLMConfigError):
    """A model name's ``provider:`` prefix is not one autocomp knows."""


class MissingAPIKeyError(LLMConfigError):
    """The environment variable holding a provider's key is not set."""


class AuthenticationError(LLMError):
    """The provider rejected the key (HTTP 401/403)."""


class ModelNotFoundError(LLMError):
    """The provider does not serve this model (HTTP 404)."""


class BadRequestError(LLMError):
    """The provider refused the request itself (other 4xx); retrying will not help."""


class ManualResponseTimeout(LLMError):
    """Nobody wrote the manual provider's response file in time."""


class TransientLLMError(LLMError):
    """A failure worth retrying. ``retry_after`` is the server's requested wait in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: str | None):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimitError(TransientLLMError):
    """HTTP 429: too many requests or tokens per minute."""


class ServerError(TransientLLMError):
    """HTTP 5xx (or 408/409/529): the provider failed or is overloaded."""


class LLMTimeoutError(TransientLLMError):
    """No answer within the request timeout."""


class ServerUnreachableError(TransientLLMError):
    """The connection failed: server down, wrong URL, no network, or reset mid-answer."""


class MalformedResponseError(TransientLLMError):
    """The provider answered, but not with a usable completion: invalid or truncated JSON, an HTML page.

    Retried: such bodies come from overloaded gateways and dropped connections far
    more often than from a model that will always answer that way.
    """


class ResponseTooLargeError(LLMError):
    """The answer was larger than ``max_tokens`` can hold, so it was refused unread and never stored.

    Not retried: a provider that ignored ``max_tokens`` once would be paid again to do it
    again. ``billable`` is True when the provider answered with success, i.e. it
    generated (and bills) at least ``max_tokens`` of output; the call is charged that.
    """

    def __init__(self, message: str, *, billable: bool = False, **kw: str | None):
        super().__init__(message, **kw)
        self.billable = billable


class BudgetExceeded(Exception):
    """The next call could overrun a budget limit, or the limit is already spent: the run stops.

    ``limit`` names the limit (``max_usd``, ``max_llm_calls`` or ``max_tokens``),
    ``remaining`` is what is left of it (negative once overrun), ``needed`` the call's
    worst case, ``spent`` what was used so far and ``cap`` the limit itself.
    """

    def __init__(self, message: str, *, limit: str, remaining: float, needed: float,
                 spent: float = 0.0, cap: float = 0.0):
        super().__init__(message)
        self.limit = limit
        self.remaining = remaining
        self.needed = needed
        self.spent = spent
        self.cap = cap
