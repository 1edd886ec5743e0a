"""``autocomp problems new``: a new problem directory with a small working example to edit."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from autocomp.targets import DEFAULT_TARGET

TEMPLATES = Path(__file__).parent / "templates"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")


def function_name(problem_name: str) -> str:
    """A Python identifier for the entry point, derived from the problem name."""
    ident = re.sub(r"\W", "_", problem_name).strip("_") or "kernel"
    return ident if not ident[0].isdigit() else f"kernel_{ident}"


def render(problem_name: str, dialect: str) -> dict[str, str]:
    """The three files of a new problem, as text."""
    values = {"name": problem_name, "function": function_name(problem_name), "dialect": dialect,
              "target": DEFAULT_TARGET}
    return {
        "problem.toml": Template((TEMPLATES / "problem.toml.tmpl").read_text()).substitute(values),
        "kernel.py": Template((TEMPLATES / dialect / "kernel.py.tmpl").read_text()).substitute(values),
        "reference.py": Template((TEMPLATES / "reference.py.tmpl").read_text()).substitute(values),
    }


def scaffold(problem_name: str, parent: str | Path, dialect: str = "v2") -> Path:
    """Write ``parent/problem_name/`` from the templates; refuses an existing directory or a bad name."""
    if not NAME_PATTERN.match(problem_name):
        raise ValueError(f"{problem_name!r}: a problem name may use letters, digits, '_', '.' and '-' only")
    if dialect not in ("v1", "v2"):
        raise ValueError(f"dialect {dialect!r}: use v1 (neuronxcc.nki) or v2 (nki)")
    root = Path(parent) / problem_name
    if root.exists():
        raise FileExistsError(f"{root}: already exists; choose another name or remove it")
    files = render(problem_name, dialect)
    root.mkdir(parents=True)
    for filename, text in files.items():
        (root / filename).write_text(text)
    return root
