"""Targeted text edits on a Python source, addressed by AST node positions, so a rewrite keeps the
comments and layout of every line it does not touch.

An edit replaces a character range; a statement insertion puts whole lines before a statement at its
indentation. An edit may contain others (a hoisted call's arguments were themselves rewritten):
``render`` gives a range's text with the edits inside it applied, and ``apply`` skips the edits an enclosing
edit already rendered.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass
class _Edit:
    start: int
    end: int
    text: str


class SourceEdits:
    """The pending edits of one source text."""

    def __init__(self, source: str):
        self.source = source
        self._line_starts = [0]
        for line in source.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))
        self._edits: list[_Edit] = []

    # ------------------------------------------------------------------ positions
    def offset(self, lineno: int, col: int) -> int:
        """Character offset of (1-based line, UTF-8 byte column), as the AST gives positions."""
        start = self._line_starts[lineno - 1]
        line = self.source[start:self._line_starts[lineno] if lineno < len(self._line_starts) else len(self.source)]
        return start + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset))

    def indent_of(self, stmt: ast.stmt) -> str:
        start = self._line_starts[stmt.lineno - 1]
        line = self.source[start:]
        return line[:len(line) - len(line.lstrip(" \t"))]

    # ------------------------------------------------------------------ edits
    def replace(self, node: ast.AST, text: str) -> None:
        start, end = self.span(node)
        self._edits.append(_Edit(start, end, text))

    def replace_range(self, start: int, end: int, text: str) -> None:
        self._edits.append(_Edit(start, end, text))

    def insert_before(self, stmt: ast.stmt, lines: list[str]) -> None:
        """Whole statements before ``stmt``, at its indentation (``stmt`` must start its line)."""
        start = self.offset(stmt.lineno, stmt.col_offset)
        indent = self.indent_of(stmt)
        text = "".join(f"{line}\n{indent}" for line in lines)
        self._edits.append(_Edit(start, start, text))

    def render(self, node: ast.AST) -> str:
        """The node's source with the edits recorded inside it so far applied."""
        start, end = self.span(node)
        return self._render(start, end)

    def _render(self, start: int, end: int) -> str:
        inner = [e for e in self._edits if start <= e.start and e.end <= end and (e.start, e.end) != (start, end)]
        return self._apply(self.source[start:end], inner, start)

    @staticmethod
    def _outermost(edits: list[_Edit]) -> list[_Edit]:
        """Edits not contained in a later (enclosing) one; an enclosing edit was rendered with them applied."""
        kept = []
        for i, e in enumerate(edits):
            if e.start == e.end:  # an insertion is inside a replacement only strictly within it
                enclosed = any(o.start < e.start < o.end for o in edits[i + 1:])
            else:
                enclosed = any(o.start <= e.start and e.end <= o.end and (o.start, o.end) != (e.start, e.end)
                               for o in edits[i + 1:])
            if not enclosed:
                kept.append(e)
        return kept

    def _apply(self, text: str, edits: list[_Edit], base: int) -> str:
        kept = self._outermost(edits)
        # Insertions at one point keep their recording order; replacements at a point go after insertions there.
        order = sorted(range(len(kept)), key=lambda i: (kept[i].start, kept[i].end > kept[i].start, i))
        out, pos = [], base
        for i in order:
            e = kept[i]
            if e.start < pos:
                continue  # overlaps an edit already applied (callers avoid this)
            out.append(self.source[pos:e.start])
            out.append(e.text)
            pos = e.end
        out.append(self.source[pos:base + len(text)])
        return "".join(out)

    def apply(self) -> str:
        return self._apply(self.source, self._edits, 0)
