"""Helpers shared by the CLI commands: clear one-line errors and exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

# Piped output is read by scripts and pagers: no line is wrapped (soft wrap), and tables and panels are laid
# out for a wide page rather than rich's 80 columns. Colour follows rich: none when piped or with NO_COLOR set.
PIPED_WIDTH = 200


class CliConsole(Console):
    """A rich console whose non-terminal output does not wrap at 80 columns."""

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(max(size.width, PIPED_WIDTH), size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


console = CliConsole(soft_wrap=True, emoji=False)  # ":x" in a model name is not an emoji
err_console = CliConsole(stderr=True, soft_wrap=True, emoji=False)

# Exit codes: 0 success, 1 the job ran but found a problem (e.g. incorrect kernel), 2 bad input.
EXIT_BAD_INPUT = 2

# Whether the running command was given --json: its errors are then a JSON object on stdout, so a script that
# parses stdout always gets JSON. Reset by the root callback before every command (tests run many in one process).
_json_errors = False


def json_errors(enabled: bool) -> None:
    """Print this command's errors as ``{"error": ..., "code": ...}`` on stdout (for ``--json``)."""
    global _json_errors
    _json_errors = bool(enabled)


def print_error(message: str, code: int = EXIT_BAD_INPUT, *, as_json: bool | None = None) -> None:
    """One error line on stderr, or one JSON object on stdout under ``--json``."""
    if _json_errors if as_json is None else as_json:
        typer.echo(json.dumps({"error": message, "code": code}))
        sys.stdout.flush()
        return
    # One line, escaped: messages quote user input and kernel text, whose brackets must not be read as markup.
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    sys.stderr.flush()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one clear error line and exit. ``message`` names the file/value and the fix."""
    print_error(message, code)
    raise typer.Exit(code)


RUNS_DIR_HELP = "Directory that holds run directories (default: $AUTOCOMP_RUNS, else runs/)."
RUNS_DIR_OPTION = typer.Option(None, "--runs-dir", help=RUNS_DIR_HELP)
OLD_DIR_OPTION = typer.Option(None, "--dir", hidden=True, help="Old name of --runs-dir.")


def runs_dir_of(runs_dir: Path | None, old_dir: Path | None = None) -> Path:
    """The runs directory a command uses: --runs-dir (or its old name --dir), else $AUTOCOMP_RUNS, else runs/."""
    from autocomp.settings import SettingsError, default_runs_dir

    if runs_dir is not None and old_dir is not None:
        fail("give --runs-dir only (--dir is its old name)")
    if runs_dir is not None or old_dir is not None:
        return runs_dir or old_dir
    try:
        return default_runs_dir()
    except SettingsError as e:
        fail(str(e))


def progress_printer(quiet: bool = False):
    """``progress(message)`` for a slow step: one dim line on stderr when stderr is a terminal and not ``quiet``,
    else None (piped and --json output stay clean)."""
    if quiet or not err_console.is_terminal:
        return None

    def progress(message: str) -> None:
        err_console.print(f"[dim]… {escape(message)}[/]", highlight=False)

    return progress


@contextmanager
def status_line(quiet: bool = False) -> Iterator[Callable[[str], None] | None]:
    """``with status_line(quiet) as progress:`` for a loop of slow steps: ``progress(message)`` rewrites one
    transient line on stderr (gone when the block ends) when stderr is a terminal and not ``quiet``; else
    ``progress`` is None, so piped and --json output stay clean."""
    if quiet or not err_console.is_terminal:
        yield None
        return
    with err_console.status("", spinner="dots") as status:
        yield lambda message: status.update(f"[dim]{escape(message)}[/]")
