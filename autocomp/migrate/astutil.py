"""Small AST helpers the migration rules share."""

from __future__ import annotations

import ast


def bound_names(stmt: ast.stmt) -> set[str]:
    """Names a statement binds as a whole (``x = ...``, ``x, y = ...``, ``for x in``), not ``x[i] = ...``."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.For)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    else:
        return set()
    names, stack = set(), list(targets)
    while stack:
        t = stack.pop()
        if isinstance(t, ast.Name):
            names.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            stack.extend(t.elts)
        elif isinstance(t, ast.Starred):
            stack.append(t.value)
    return names


def neg(text: str) -> str:
    """``-text``, parenthesised unless ``text`` is a name or a number (and ``--x`` is ``x``)."""
    if text.startswith("-") and (text[1:].isidentifier() or text[1:].replace(".", "", 1).isdigit()):
        return text[1:]
    return f"-{text}" if text.isidentifier() or text.replace(".", "", 1).isdigit() else f"-({text})"
