"""Getting a kernel out of an LLM answer, or a clear reason why there is none.

Answers come fenced or not, with several blocks (a snippet, then the full file),
with prose around the code, or cut off at ``max_tokens``. The rule: take the
last fenced block that parses and defines the entry function at top level; else
the longest unfenced stretch of the answer that does; and when nothing does,
say which of the usual failures happened so the repair prompt can name it.
"""

from __future__ import annotations

import ast
import re

from autocomp.pyparse import parse_python

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([A-Za-z0-9_+-]*)[^\n]*$", re.MULTILINE)
_CODE_START = re.compile(r"^(import |from |@|def |class |[A-Z_][A-Z0-9_]* *=|\"\"\"|#)")
_PLAN_MAX_CHARS = 4000
_PYTHON_TAGS = {"", "python", "py", "python3", "nki"}


class ExtractionError(ValueError):
    """No usable kernel in an answer; the message says why, in words the model can act on."""

    def __init__(self, message: str, *, truncated: bool = False):
        super().__init__(message)
        self.truncated = truncated


def fenced_blocks(text: str) -> list[tuple[str, str, bool]]:
    """``(language tag, code, closed)`` for every fenced block, in order; the last may be unclosed."""
    blocks: list[tuple[str, str, bool]] = []
    matches = list(_FENCE.finditer(text))
    i = 0
    while i < len(matches):
        opener = matches[i]
        fence, tag = opener.group(1), opener.group(2).lower()
        start = opener.end() + 1
        closer = next((m for m in matches[i + 1:] if m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
                       and not m.group(2)), None)
        if closer is None:
            blocks.append((tag, text[start:], False))
            break
        blocks.append((tag, text[start:closer.start()], True))
        i = matches.index(closer) + 1
    return blocks


def _defines(code: str, function: str) -> bool | None:
    """True if ``code`` parses and defines ``function`` at top level; None if it does not parse."""
    try:
        tree = parse_python(code)
    except (SyntaxError, ValueError):
        return None
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function for n in tree.body)


def _unfenced(text: str, function: str) -> str | None:
    """The longest run of lines, from a code-looking first line, that parses and defines ``function``."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    for start in starts:
        for end in range(len(lines), start, -1):
            chunk = "\n".join(lines[start:end]).strip("\n")
            if f"def {function}" not in chunk:
                break
            if _defines(chunk, function):
                return chunk + "\n"
    return None


def _used_names(tree: ast.Module) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _bound_names(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return bound


def restore_imports(code: str, reference: str | None) -> str:
    """Prepend the parent's import lines that ``code`` uses but dropped (models often omit the header)."""
    if not reference:
        return code
    try:
        tree, ref = parse_python(code), parse_python(reference)
    except SyntaxError:
        return code
    missing = _used_names(tree) - _bound_names(tree)
    header = []
    for node in ref.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {(a.asname or a.name).split(".")[0] for a in node.names}
            if names & missing:
                header.append(ast.get_source_segment(reference, node) or ast.unparse(node))
    return ("\n".join(header) + "\n\n" + code) if header else code


def extract_kernel(text: str, function: str, *, finish_reason: str | None = None,
                   reference: str | None = None) -> str:
    """The full kernel source in an LLM answer. Raises :class:`ExtractionError` when there is none.

    ``reference`` (the parent kernel) supplies import lines the answer left out.
    """
    truncated = finish_reason in ("length", "max_tokens")
    blocks = fenced_blocks(text)
    python_blocks = [b for b in blocks if b[0] in _PYTHON_TAGS]
    for _tag, code, closed in reversed(python_blocks):
        if not closed and truncated:
            continue
        if _defines(code, function):
            return restore_imports(code.strip("\n") + "\n", reference)
    if not blocks:
        code = _unfenced(text, function)
        if code is not None and not truncated:
            return restore_imports(code, reference)
    if truncated or (blocks and not blocks[-1][2] and _defines(blocks[-1][1], function) is None):
        raise ExtractionError(
            "the answer was cut off before the kernel was complete (the model hit its output limit); "
            "write the whole kernel again, more compactly: drop comments and explanations", truncated=True)
    if not text.strip():
        raise ExtractionError("the answer was empty; reply with the complete kernel in one ```python block")
    defining = [code for _, code, _ in python_blocks if f"def {function}" in code]
    if defining:
        try:
            parse_python(defining[-1])
        except SyntaxError as e:
            raise ExtractionError(f"the code block defining `{function}` is not valid Python (line {e.lineno}: "
                                  f"{e.msg}); reply with the complete, corrected kernel") from None
        raise ExtractionError(f"`{function}` is not defined at the top level of the code block; keep the entry "
                              "point a module-level function")
    if python_blocks or blocks:
        raise ExtractionError(f"no code block defines the entry function `{function}`; reply with the complete "
                              f"kernel file, including `def {function}(...)`, in one ```python block")
    raise ExtractionError(f"the answer contains no code; reply with the complete kernel defining `{function}` in "
                          "one ```python block")


def extract_plan(text: str) -> str:
    """The plan in a planning answer: the text without code blocks, trimmed to a sane length."""
    plain = re.sub(r"```.*?(```|$)", "", text, flags=re.DOTALL).strip()
    plain = plain or text.strip()
    if len(plain) > _PLAN_MAX_CHARS:
        plain = plain[:_PLAN_MAX_CHARS].rsplit("\n", 1)[0] + "\n[...]"
    return plain
