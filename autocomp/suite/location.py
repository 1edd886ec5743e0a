"""Where problems live, and the one way a problem name or path becomes a problem.

A name is looked up in ``--dir`` when one is given (there only); otherwise in ``$AUTOCOMP_PROBLEMS``, then
``./problems``, then the suite shipped with autocomp. A path to a problem directory (or its problem.toml) is
taken as it is. Either may end in ``@VARIANT`` to pick another baseline the problem declares under
``[variants.VARIANT]`` (``gemm_bf16@legacy``). Every command that takes a problem and the Python API resolve it here.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from autocomp.problem import VARIANT_NAME, VARIANT_SEPARATOR, Problem, ProblemError

ENV_VAR = "AUTOCOMP_PROBLEMS"
# The package directory, found from this file: importing ``autocomp`` here would tie the suite into a package cycle.
_PACKAGE = Path(__file__).resolve().parents[1]


class ProblemNotFoundError(ProblemError, FileNotFoundError):
    """No problem of that name in the places searched, and no problem directory at that path."""


def bundled_problems_dir() -> Path:
    """The shipped suite: ``autocomp/_problems`` in an installed wheel, else the repository's ``problems/``
    next to the package (a checkout or an editable install)."""
    installed = _PACKAGE / "_problems"
    return installed if installed.is_dir() else _PACKAGE.parent / "problems"


def search_path(directory: str | Path | None = None) -> list[tuple[str, Path]]:
    """The directories a problem name is looked up in, in order, each with how it was chosen."""
    if directory:
        return [("--dir", Path(directory))]
    places = []
    if os.environ.get(ENV_VAR):
        places.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    places.append(("./problems", Path("problems")))
    places.append(("the shipped suite", bundled_problems_dir()))
    return places


def problems_dir(explicit: str | Path | None = None) -> Path:
    """The problems directory to list or add to: ``explicit``, else ``$AUTOCOMP_PROBLEMS``, else ``./problems``
    when it exists, else the shipped suite. It may not exist (callers report that)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    local = Path("problems")
    return local if local.is_dir() else bundled_problems_dir()


def _names(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob("*/problem.toml")) if root.is_dir() else []


def resolve_problem(name_or_path: str | Path, directory: str | Path | None = None) -> Path:
    """The directory of the problem ``name_or_path``: a name in the search path (:func:`search_path`), or a path
    to a problem directory or its problem.toml. Raises :class:`ProblemNotFoundError` naming every place looked in."""
    ref, _ = split_variant(name_or_path)  # the variant is chosen when loading (load_problem)
    places = search_path(directory)
    for _, root in places:
        if ref and (root / ref / "problem.toml").is_file():
            return root / ref
    path = Path(ref)
    if path.name == "problem.toml":
        path = path.parent
    if ref and (path / "problem.toml").is_file():
        return path
    looked = "; ".join(f"{how} {root}" + ("" if root.is_dir() else " (no such directory)") for how, root in places)
    known = sorted({name for _, root in places for name in _names(root)})
    close = difflib.get_close_matches(ref, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else (f"; problems there: {', '.join(known)}" if known else "")
    not_problem = f" ({path} holds no problem.toml)" if ref and path.is_dir() else ""
    raise ProblemNotFoundError(f"{ref or '(empty name)'}: no such problem; looked for {ref}/problem.toml in {looked}, "
                               f"and for a problem directory at {path}{not_problem}{hint}")


def split_variant(ref: str | Path) -> tuple[str, str | None]:
    """``"NAME@VARIANT"`` -> ``("NAME", "VARIANT")``; a reference without a variant -> ``(ref, None)``.
    A directory whose own name holds an ``@`` is taken as it is."""
    text = str(ref)
    base, sep, variant = text.rpartition(VARIANT_SEPARATOR)
    if not sep or not base or not re.match(VARIANT_NAME, variant) or Path(text).is_dir():
        return text, None
    return base, variant


def load_problem(ref: str | Path | Problem, directory: str | Path | None = None) -> Problem:
    """A Problem from itself, a name in the search path or a problem directory (see :func:`resolve_problem`),
    each optionally ending in ``@VARIANT``."""
    if isinstance(ref, Problem):
        return ref
    base, variant = split_variant(ref)
    return Problem.load(resolve_problem(base, directory), variant)
