"""Helpers shared by the CLI commands: clear one-line errors and exit codes."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

# Exit codes: 0 success, 1 the job ran but found a problem (e.g. incorrect kernel), 2 bad input.
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one clear error line and exit. ``message`` names the file/value and the fix."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
    raise typer.Exit(code)
