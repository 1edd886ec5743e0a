"""What a failing ``assert`` in the kernel was looking at: its expression and the values of the names in it.

Runs in the sandboxed worker, on the failing frame, before the frames are cleared. It reads values and never
calls anything the candidate defined: names come from the frame's locals and globals, attributes are read
only when they are plain instance data, a C type's field or a property defined in this package's files (so
``a.shape`` works on numpy arrays and simulator tensors), and values are shown only when they are numbers,
strings, dtypes, or short tuples of them.
"""

from __future__ import annotations

import ast
import inspect
import traceback
import types
from pathlib import Path
from types import FrameType

from autocomp.pyparse import parse_python

MAX_CHARS = 240  # the whole "assert ... (name=value, ...)" text
MAX_VALUE_CHARS = 60
MAX_NAMES = 8
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1]) + "/"
_MISSING = object()


def describe_assert(exc: BaseException, kernel_path: Path) -> str | None:
    """``assert K % 512 == 0 (K=384)`` for an AssertionError raised by an assert in the kernel file, else None."""
    if not isinstance(exc, AssertionError):
        return None
    target = str(kernel_path)
    frame = None
    lineno = 0
    for f, line in traceback.walk_tb(exc.__traceback__):
        if f.f_code.co_filename == target:
            frame, lineno = f, line
    if frame is None:
        return None
    try:
        source = kernel_path.read_text()
        node = _assert_at(parse_python(source), lineno)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    if node is None:
        return None
    text = f"assert {' '.join((ast.get_source_segment(source, node.test) or '').split())}"
    pairs = []
    for expr in _names(node.test)[:MAX_NAMES]:
        value = _lookup(frame, expr)
        shown = _show(value)
        if shown is not None:
            pairs.append(f"{expr}={shown}")
    if pairs:
        text += f" ({', '.join(pairs)})"
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def _assert_at(tree: ast.AST, lineno: int) -> ast.Assert | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            return node
    return None


def _names(test: ast.expr) -> list[str]:
    """Dotted names (``K``, ``a.shape``) read in the expression, whole chains only, in source order."""
    inner = {id(node.value) for node in ast.walk(test) if isinstance(node, ast.Attribute)}
    chains = sorted(((node.lineno, node.col_offset), dotted) for node in ast.walk(test)
                    if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in inner
                    and (dotted := _dotted(node)))
    found: list[str] = []
    for _, dotted in chains:
        if dotted not in found:
            found.append(dotted)
    return found


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _lookup(frame: FrameType, dotted: str):
    head, *attrs = dotted.split(".")
    value = frame.f_locals.get(head, _MISSING)
    if value is _MISSING:
        value = frame.f_globals.get(head, _MISSING)
    for attr in attrs:
        if value is _MISSING:
            break
        value = _read_attr(value, attr)
    return value


def _read_attr(obj, attr: str):
    """An attribute's value without running candidate code (see the module doc), or _MISSING."""
    try:
        static = inspect.getattr_static(obj, attr)
    except AttributeError:
        return _MISSING
    if inspect.getattr_static(type(static), "__get__", None) is None:
        return static  # instance data or a plain class attribute: nothing to run
    if isinstance(static, (types.GetSetDescriptorType, types.MemberDescriptorType)):
        pass  # a C type's field (ndarray.shape): reading it runs no Python code
    elif not (type(static) is property and _ours(static.fget)):
        return _MISSING  # anything else might be the candidate's code (a __module__ is easy to fake)
    try:
        return static.__get__(obj, type(obj))
    except Exception:
        return _MISSING


def _ours(fn) -> bool:
    """A plain function defined in the autocomp package's own files (the simulator's tensor properties)."""
    code = getattr(fn, "__code__", None) if type(fn) is types.FunctionType else None
    return code is not None and type(code.co_filename) is str and code.co_filename.startswith(_PACKAGE_DIR)


def _show(value) -> str | None:
    """A short text for values worth showing; None for anything else (arrays, tensors, candidate objects)."""
    import numpy as np

    if value is _MISSING:
        return None
    if value is None or type(value) in (bool, int, float) or isinstance(value, (np.integer, np.floating, np.bool_)):
        text = repr(value.item() if isinstance(value, np.generic) else value)
    elif type(value) is str:
        text = repr(value)
    elif isinstance(value, np.dtype):
        text = str(value)
    elif type(value) in (tuple, list) and len(value) <= 8 and all(_show(v) is not None for v in value):
        inner = ", ".join(_show(v) for v in value)
        text = f"({inner}{',' if len(value) == 1 else ''})" if type(value) is tuple else f"[{inner}]"
    else:
        return None
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


__all__ = ["describe_assert"]
