"""The `autocomp` command.

Each subcommand lives in its own module of this package and exposes
``register(app)``; modules are discovered here so parts can add commands
without editing a central list.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from autocomp.cli._common import EXIT_BAD_INPUT, json_errors, print_error

app = typer.Typer(
    name="autocomp",
    help="Optimize AWS Trainium NKI kernels with an LLM agent, on hardware or in autocomp's simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # subcommands inherit it
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("autocomp")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"autocomp {_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", "-V", is_eager=True, callback=_print_version,
                                       help="Print autocomp's version and exit.")) -> None:
    """Optimize AWS Trainium NKI kernels with an LLM agent, on hardware or in autocomp's simulator."""
    json_errors(False)  # each command that takes --json turns it on for itself


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def _click_exception() -> type:
    """Click's error class as typer raises it (recent typer vendors its own copy of click)."""
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older typer on the real click
        from click.exceptions import ClickException
    return ClickException


def main() -> None:
    """The console script: usage errors as one line (a JSON object under --json), and no traceback for a
    failure nobody foresaw unless AUTOCOMP_TRACEBACK=1 asks for one."""
    usage_error = _click_exception()
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except usage_error as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `autocomp runs`: the help is the answer
            e.show()
            sys.exit(e.exit_code)
        command = e.ctx.command_path if getattr(e, "ctx", None) is not None else "autocomp"
        print_error(f"{e.format_message()} (see `{command} --help`)", e.exit_code or EXIT_BAD_INPUT,
                    as_json=as_json)
        sys.exit(e.exit_code or EXIT_BAD_INPUT)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:
        if os.environ.get("AUTOCOMP_TRACEBACK"):
            raise
        print_error(f"autocomp failed unexpectedly: {type(e).__name__}: {e} (this is a bug; rerun with "
                    "AUTOCOMP_TRACEBACK=1 for the traceback and report it)", 1, as_json=as_json)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
