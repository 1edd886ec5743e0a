"""One pydantic validation error as a person reads it: the message without pydantic's own prefixes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# pydantic puts these before a validator's own message; the message alone is the error.
_PREFIXES = ("Value error, ", "Assertion failed, ")


def error_message(err: Mapping[str, Any]) -> str:
    message = str(err.get("msg", ""))
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message
