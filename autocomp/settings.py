"""Settings that come from the environment, under every config file and command-line option.

Layers, later winning: defaults, these environment variables, a ``--config`` file, command-line
options (or ``autocomp.optimize`` keywords). pydantic-settings reads the environment so that a
bad value is refused with the variable's name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from autocomp.validation import error_message

RUNS_ENV = "AUTOCOMP_RUNS"


class EnvSettings(BaseSettings):
    """``AUTOCOMP_RUNS``: the directory that holds run directories (default ``runs``)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=False)

    runs_dir: Path = Field(Path("runs"), validation_alias=AliasChoices(RUNS_ENV))


class SettingsError(ValueError):
    """An environment variable with a value autocomp cannot use; the message names it."""


def env_settings() -> EnvSettings:
    try:
        return EnvSettings()
    except ValidationError as e:
        first = e.errors()[0]
        raise SettingsError(f"${RUNS_ENV}={first.get('input')!r}: {error_message(first)}") from None


def default_runs_dir() -> Path:
    """Where runs are written and looked up when no --runs-dir is given: $AUTOCOMP_RUNS, else ./runs."""
    value = env_settings().runs_dir
    return value if str(value).strip() else Path("runs")


def runs_dir_flag(runs_dir: str | Path) -> str:
    """`` --runs-dir DIR`` for a printed command when ``runs_dir`` is not where runs are looked up by default
    (so the command works when copied), else ``""``."""
    import shlex

    try:
        default = default_runs_dir()
    except SettingsError:
        default = Path("runs")
    if Path(runs_dir).resolve() == Path(default).resolve():
        return ""
    return f" --runs-dir {shlex.quote(str(runs_dir))}"
