"""The release of the current dialect a running kernel follows, and the version-dependent rules.

``autocomp.nki.versions`` names the modelled release and the pinnable ones; the running kernel's
release is on its context (``ctx.nki_version``). Deprecated constructs warn once per kernel run
(``warn_deprecated_api``), removed ones raise ``err_removed_api`` and constructs newer than a
pinned release raise ``err_api_newer_than_version``; every message names the replacement.
The rules are listed in docs/nki-semantics.md#nki-versions.
"""

from __future__ import annotations

import contextlib

from autocomp.nki import versions
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.ops.operands import ctx_state
from autocomp.nki.runtime import current_or_none


def active() -> tuple[int, int]:
    """The release the running kernel follows (outside a kernel: the v2 frontend's pin, else the modelled one)."""
    ctx = current_or_none()
    if ctx is not None and ctx.nki_version:
        return versions.parse(ctx.nki_version)
    from autocomp.nki.v2.top import STATE

    return versions.parse(STATE.nki_version)


def at_least(version: tuple[int, int]) -> bool:
    return active() >= version


def _now() -> str:
    return versions.label(active())


def require(since: tuple[int, int], api: str, instead: str) -> None:
    """``api`` exists from NKI ``since``: refuse it under an older pinned release."""
    if active() < since:
        raise_error("err_api_newer_than_version",
                    f"{api} was added in nki {versions.label(since)}, but this run follows nki {_now()} (pinned); "
                    f"{instead}, or evaluate with nki {versions.label(since)} or later")


def removed(since: tuple[int, int], api: str, instead: str) -> None:
    """``api`` was removed in NKI ``since``: refuse it from that release on."""
    if active() >= since:
        raise_error("err_removed_api",
                    f"{api} was removed in nki {versions.label(since)} (this run follows nki {_now()}); {instead}")


def deprecated(since: tuple[int, int], api: str, instead: str) -> None:
    """``api`` is deprecated from NKI ``since``: warn once per kernel run, naming the replacement."""
    if active() < since or current_or_none() is None:
        return
    seen = ctx_state("v2_deprecations", set)
    if api in seen:
        return
    seen.add(api)
    warn(f"{api} is deprecated since nki {versions.label(since)}; {instead}", "warn_deprecated_api")


@contextlib.contextmanager
def pinned(version: str | tuple | None):
    """Kernels launched inside follow NKI ``version`` (``"0.6"``; None: the modelled one); for scripts and tests."""
    from autocomp.nki.v2.top import STATE

    previous = STATE.nki_version
    STATE.nki_version = None if version is None else versions.normalize(version)
    try:
        yield
    finally:
        STATE.nki_version = previous
