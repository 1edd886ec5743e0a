"""What one call is charged: the provider's usage report, checked against what crossed the wire.

A provider reports its own token counts, and a broken or hostile one can report
nothing, garbage or far too little. The charge is therefore:

- never below what the provider reports: that is what it bills. A report above the
  request's ``max_tokens`` is charged as reported (real money, so the budget must
  see it and stop the run) rather than cut to ``max_tokens``;
- never below a lower bound from the characters actually sent and received: no
  tokenizer averages more than :data:`MAX_CHARS_PER_TOKEN` characters per token,
  so a 30 KB answer reported as 0 tokens is charged at least 30 K / 8 tokens.
  A lower bound, not a typical ratio, so honest reports are never raised;
- the call's worst case where a count is not a count (missing, negative, NaN, a
  string, a fraction): the estimated prompt and the full ``max_tokens`` of output,
  the figures the budget reservation already held for the call.

Absurd counts are cut to :data:`MAX_REPORTED_TOKENS`, far beyond any real call, so
sums stay exact and fit the run store's integer columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from autocomp.llm.types import Message, estimate_input_tokens

# The size cap on answers (autocomp.llm.limits) uses the same bound, so an accepted answer's
# character floor never exceeds max_tokens by more than the cap's slack.
MAX_CHARS_PER_TOKEN = 8
MAX_REPORTED_TOKENS = 10**12
# Hostile usage fields can be megabytes long; notes quote only their start.
_QUOTE_CHARS = 40


def token_count(value: object) -> int | None:
    """``value`` as a token count, or None when it is not one (missing, negative, NaN, text, a fraction)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return min(value, MAX_REPORTED_TOKENS) if value >= 0 else None
    if isinstance(value, float):
        if math.isnan(value) or value < 0:
            return None
        if math.isinf(value):
            return MAX_REPORTED_TOKENS
        return min(int(value), MAX_REPORTED_TOKENS) if value.is_integer() else None
    return None


def min_tokens_for(chars: int) -> int:
    """The fewest tokens ``chars`` characters can be."""
    return -(-chars // MAX_CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Charge:
    """Token counts to bill one call at, and what was corrected in the provider's report."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    notes: tuple[str, ...] = ()


def charge_usage(
    *,
    input_tokens: object,
    output_tokens: object,
    cached_tokens: object = 0,
    cache_write_tokens: object = 0,
    messages: Sequence[Message],
    text: str,
    max_tokens: int,
) -> Charge:
    """The counts to charge for a call that sent ``messages`` and received ``text``. See the module docstring.

    Idempotent: charging an already charged call changes nothing.
    """
    notes: list[str] = []
    fresh_in = token_count(input_tokens)
    floor_in = min_tokens_for(sum(len(m["content"]) for m in messages))
    if fresh_in is None:
        charged_in = max(estimate_input_tokens(messages), floor_in)
        notes.append(f"input_tokens {_quote(input_tokens)} is not a token count: charged the estimate {charged_in:,}")
    elif fresh_in < floor_in:
        charged_in = floor_in
        notes.append(f"input_tokens {fresh_in:,} is fewer than the prompt's characters allow: charged {floor_in:,}")
    else:
        charged_in = fresh_in

    reported_out = token_count(output_tokens)
    floor_out = min_tokens_for(len(text))
    if reported_out is None:
        charged_out = max(max_tokens, floor_out)
        notes.append(f"output_tokens {_quote(output_tokens)} is not a token count: charged max_tokens "
                     f"({charged_out:,})")
    elif reported_out < floor_out:
        charged_out = floor_out
        notes.append(f"output_tokens {reported_out:,} is fewer than the {len(text):,} characters received allow: "
                     f"charged {floor_out:,}")
    else:
        charged_out = reported_out
        if reported_out > max_tokens:
            notes.append(f"the provider reported {reported_out:,} output tokens for max_tokens={max_tokens:,}: "
                         "charged as reported")

    # Unknown cache splits count as fresh input, the dearer rate for every provider priced here.
    cached = min(token_count(cached_tokens) or 0, charged_in)
    written = min(token_count(cache_write_tokens) or 0, charged_in - cached)
    return Charge(charged_in, charged_out, cached, written, tuple(notes))


def _quote(value: object) -> str:
    if value is None:
        return "(missing)"
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS] + "..."
