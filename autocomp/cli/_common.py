"""Helpers shared by the CLI commands: clear one-line errors and exit codes."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

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
