"""Keeps API keys out of everything autocomp prints, raises or writes.

Adapters register the keys they use; every ``LLMError`` message and every record
logged on the ``autocomp.llm`` logger goes through :func:`scrub`.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "[REDACTED]"

# Shapes of well-known credentials, for keys we were never told about (e.g. echoed by a proxy).
_KEY_PATTERNS = [
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._\-]{8,}"), r"\1" + REDACTED),
]
# Shorter strings are dummies like "EMPTY"; scrubbing them would mangle ordinary text.
_MIN_SECRET_LEN = 8

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so :func:`scrub` removes it from any text from now on."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """Return ``text`` with registered secrets and key-shaped strings replaced."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _KEY_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through :func:`scrub` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


log = logging.getLogger("autocomp.llm")
log.addFilter(RedactingFilter())
