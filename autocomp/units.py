"""The one way numbers with units are written for people: the CLI, the report and the notebook.

Latency ``1,985.9 µs`` (thousands separated, one decimal, microseconds), speedup ``3.70x``,
dollars ``$0.42``. A value that is missing is an em dash. Prompts for the LLM keep their own
plain-ASCII wording.
"""

from __future__ import annotations

MISSING = "—"


def latency(us: float | None, missing: str = MISSING) -> str:
    """``1,985.9 µs``; values under 10 µs keep two decimals (``3.25 µs``) so small kernels still differ."""
    if us is None:
        return missing
    return f"{us:,.2f} µs" if abs(us) < 10 else f"{us:,.1f} µs"


def speedup(x: float | None, missing: str = MISSING) -> str:
    """``3.70x``."""
    return missing if x is None else f"{x:,.2f}x"


def usd(dollars: float | None, missing: str = MISSING) -> str:
    """``$0.42`` (four decimals under a cent, so a cheap call is not shown as free)."""
    if dollars is None:
        return missing
    return f"${dollars:,.4f}" if 0 < abs(dollars) < 0.01 else f"${dollars:,.2f}"
