"""Settings every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_user_memory() -> Iterator[None]:
    """No test reads or writes the user's experience memory (docs/architecture.md#experience-memory): it is off
    unless a test names a memory file of its own (tests/memory/ do). Session scope, so it is in force before any
    module-scoped fixture starts a run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOCOMP_MEMORY", "off")
        yield
