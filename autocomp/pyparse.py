"""``ast.parse`` that threads may call at the same time.

CPython 3.11 (before 3.11.9) and early 3.12 keep the recursion depth of the AST-to-object
conversion in interpreter-wide state, so two threads parsing at once can fail with
"SystemError: AST constructor recursion depth mismatch" (CPython issue gh-106905). autocomp parses
kernel sources from several threads at once (evaluations hash and gate candidates while the
search rewrites knobs and extracts LLM answers), so every parse goes through one lock. Parsing a
kernel takes well under a millisecond: the lock costs nothing measurable.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse_python(source: str | bytes, filename: str = "<unknown>", mode: str = "exec", **kwargs) -> ast.AST:
    """``ast.parse(source, filename, mode, **kwargs)``, one thread at a time."""
    with _LOCK:
        return ast.parse(source, filename, mode, **kwargs)
