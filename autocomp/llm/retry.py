"""Retries with exponential backoff and jitter, done by autocomp rather than each SDK.

The SDKs' own retries are switched off (``max_retries=0``) so every provider backs
off the same way and tests can inject the sleep and the random source.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from autocomp.llm.errors import LLMError, TransientLLMError
from autocomp.llm.redact import log

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How often and how long to wait before retrying a transient failure.

    Attempt ``k`` (1-based) that fails waits ``base_delay_s * 2**(k-1)`` capped at
    ``max_delay_s``, scaled down by up to ``jitter`` so parallel workers spread out.
    A server's ``retry-after`` replaces the backoff; one longer than
    ``max_retry_after_s`` (a daily quota, say) ends the retries at once.
    """

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    jitter: float = 0.5
    max_retry_after_s: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait after failed ``attempt``, or None to stop retrying."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after_s else None
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return backoff * (1.0 - self.jitter * self.rng.random())


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, what: str) -> T:
    """Call ``fn`` until it succeeds, it raises a non-transient error, or the policy gives up.

    The error finally raised carries ``attempts``, the number of calls made.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except LLMError as err:
            err.attempts = attempt
            if not isinstance(err, TransientLLMError):
                raise
            wait = policy.delay(attempt, err.retry_after)
            if wait is None:
                raise
            log.warning(
                "%s failed (%s: %s); retry %d/%d in %.1fs",
                what,
                type(err).__name__,
                err.message,
                attempt,
                policy.max_attempts - 1,
                wait,
            )
            policy.sleep(wait)


def parse_retry_after(headers: Mapping[str, str] | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a server asked us to wait: ``retry-after-ms``, or ``retry-after`` in seconds or as a date."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())
