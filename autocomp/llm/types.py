"""The data that crosses the LLM seam: chat messages, one completion, the client protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

# pydantic needs typing_extensions' TypedDict before Python 3.12.
from typing_extensions import TypedDict

Role = Literal["system", "user", "assistant"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


class Message(TypedDict):
    """One chat turn, as every provider adapter accepts it."""

    role: Role
    content: str


class Completion(BaseModel):
    """One model answer plus what it cost.

    Token counts are normalised across providers: ``input_tokens`` is every prompt
    token, of which ``cached_tokens`` were read from the provider's prompt cache and
    ``cache_write_tokens`` were written to it (Anthropic bills those differently).
    ``cache_hit`` means autocomp's own response cache answered and nothing was sent:
    such a completion keeps the original token counts but costs $0 and took no time.
    Token counts are what the call is charged at (see :mod:`autocomp.llm.charging`);
    ``usage_notes`` says where that differs from the provider's report and is never stored.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    provider: str
    model: str
    cache_hit: bool = False
    usage_notes: tuple[str, ...] = Field(default=(), exclude=True)

    @property
    def model_id(self) -> str:
        """The ``provider:model`` name this completion came from."""
        return f"{self.provider}:{self.model}"


@runtime_checkable
class LLMClient(Protocol):
    """One provider. ``complete`` makes exactly one request: no retries, no cache.

    Implementations raise subclasses of :class:`autocomp.llm.errors.LLMError`;
    retries, budgets and caching are layered on top by :class:`LLMService`.
    """

    provider: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int,
        stop: Sequence[str] | None,
    ) -> Completion: ...


def normalize_messages(messages: Sequence[Message]) -> list[Message]:
    """Check roles and content types and return plain ``{"role", "content"}`` dicts."""
    out: list[Message] = []
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        content = msg.get("content") if isinstance(msg, dict) else None
        if role not in ROLES:
            raise ValueError(f"messages[{i}] has role {role!r}; use one of system, user, assistant")
        if not isinstance(content, str):
            raise ValueError(f"messages[{i}] content must be a str, got {type(content).__name__}")
        out.append({"role": role, "content": content})
    if not out:
        raise ValueError("messages is empty; send at least one user message")
    return out


# Rough but provider-independent: English prose and code average about 4 characters per token.
CHARS_PER_TOKEN = 4
# Role markers and separators every chat format adds around each message.
TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    """Estimate the token count of ``text`` from its length."""
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_input_tokens(messages: Sequence[Message]) -> int:
    """Estimate the prompt tokens of a chat, including per-message overhead."""
    return sum(estimate_tokens(m["content"]) + TOKENS_PER_MESSAGE for m in messages)
