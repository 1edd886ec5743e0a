"""Where problems live: ``--dir``, else ``$AUTOCOMP_PROBLEMS``, else ``./problems``, else the repo's suite."""

from __future__ import annotations

import os
from pathlib import Path

import autocomp

ENV_VAR = "AUTOCOMP_PROBLEMS"


def bundled_problems_dir() -> Path:
    """The shipped suite: ``autocomp/_problems`` in an installed wheel, else the repository's ``problems/``
    next to the package (a checkout or an editable install)."""
    package = Path(autocomp.__file__).resolve().parent
    installed = package / "_problems"
    return installed if installed.is_dir() else package.parent / "problems"


def problems_dir(explicit: str | Path | None = None) -> Path:
    """The problems directory to use, in order of precedence; it may not exist (callers report that)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    local = Path("problems")
    if local.is_dir():
        return local
    return bundled_problems_dir()


def resolve_problem(name_or_path: str, directory: str | Path | None = None) -> Path:
    """``NAME`` inside the problems directory, or a path to a problem directory (or its problem.toml)."""
    candidate = Path(name_or_path)
    if candidate.name == "problem.toml":
        candidate = candidate.parent
    root = problems_dir(directory)
    by_name = root / name_or_path
    if (by_name / "problem.toml").is_file():
        return by_name
    if (candidate / "problem.toml").is_file():
        return candidate
    known = sorted(p.parent.name for p in root.glob("*/problem.toml")) if root.is_dir() else []
    hint = f"; problems in {root}: {', '.join(known)}" if known else f"; {root} holds no problems"
    raise FileNotFoundError(f"{name_or_path}: no such problem (neither {by_name} nor a problem directory){hint}")
