"""Where the experience memory lives: ``--memory PATH``, else ``$AUTOCOMP_MEMORY``, else the user's data directory.

The default is ``$XDG_DATA_HOME/autocomp/memory.sqlite`` (``~/.local/share/autocomp/memory.sqlite`` when
XDG_DATA_HOME is unset), one store shared by every run of the user. ``AUTOCOMP_MEMORY=off`` turns the memory
off wherever it is not given explicitly (the test suite does this, so no test touches the user's store).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV = "AUTOCOMP_MEMORY"
OFF_VALUES = ("off", "none", "0", "false", "no")
FILE_NAME = "memory.sqlite"


def default_path(env: Mapping[str, str] | None = None) -> Path | None:
    """The memory file to use when none is given, or None when ``$AUTOCOMP_MEMORY`` turns the memory off."""
    env = os.environ if env is None else env
    given = (env.get(ENV) or "").strip()
    if given:
        return None if given.lower() in OFF_VALUES else Path(given).expanduser()
    data_home = (env.get("XDG_DATA_HOME") or "").strip()
    base = Path(data_home).expanduser() if data_home else Path.home() / ".local" / "share"
    return base / "autocomp" / FILE_NAME


def resolve_path(path: str | Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``path`` if given, else the default (None: the memory is off)."""
    return Path(path).expanduser() if path is not None else default_path(env)
