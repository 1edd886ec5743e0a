"""The `autocomp` command.

Each subcommand lives in its own module of this package and exposes
``register(app)``; modules are discovered here so parts can add commands
without editing a central list.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="autocomp",
    help="Optimize AWS Trainium NKI kernels with an LLM agent, on hardware or in autocomp's simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Optimize AWS Trainium NKI kernels with an LLM agent, on hardware or in autocomp's simulator."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    app()
