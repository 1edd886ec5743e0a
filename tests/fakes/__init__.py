"""Fakes and helpers shared by the test suites, imported as ``tests.fakes.<module>``: pytest puts the checkout
on ``sys.path`` (``pythonpath`` in pyproject.toml); a child interpreter gets it from :func:`child_env`."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child Python that imports ``tests.fakes``: the checkout first on its PYTHONPATH (so it
    also imports this checkout's autocomp, as the tests do)."""
    rest = env.get("PYTHONPATH", "")
    return {**env, "PYTHONPATH": str(REPO) + (os.pathsep + rest if rest else "")}
