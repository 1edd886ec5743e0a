"""A reader for the small YAML subset the prompt files use, so autocomp needs no YAML dependency.

Supported: nested mappings and ``- `` lists by indentation, plain and quoted
scalars, ``[a, b]`` flow lists, ``|`` and ``>`` block scalars, ``#`` comments.
Anything else is an error naming the file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_KEY = re.compile(r"^([A-Za-z0-9_.-]+):(?:\s+(.*))?$")


class YamlError(ValueError):
    pass


def _strip_comment(text: str) -> str:
    out, quote = [], None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _scalar(text: str, where: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(p, where) for p in _split_flow(inner)] if inner else []
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise YamlError(f"{where}: bad double-quoted string {text!r}") from None
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("null", "~", ""):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _split_flow(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


class _Parser:
    def __init__(self, text: str, name: str):
        self.name = name
        self.lines: list[tuple[int, int, str]] = []  # (line number, indent, raw text without newline)
        for no, raw in enumerate(text.splitlines(), 1):
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise YamlError(f"{name}:{no}: tabs in indentation; indent with spaces")
            self.lines.append((no, len(raw) - len(raw.lstrip(" ")), raw))
        self.pos = 0

    def where(self) -> str:
        return f"{self.name}:{self.lines[self.pos][0]}" if self.pos < len(self.lines) else f"{self.name}:end"

    def skip_blank(self) -> None:
        while self.pos < len(self.lines) and not _strip_comment(self.lines[self.pos][2]).strip():
            self.pos += 1

    def parse_block(self, indent: int) -> Any:
        self.skip_blank()
        if self.pos >= len(self.lines):
            return None
        _, ind, raw = self.lines[self.pos]
        if ind < indent:
            return None
        text = _strip_comment(raw).strip()
        return self.parse_list(ind) if text == "-" or text.startswith("- ") else self.parse_map(ind)

    def parse_list(self, indent: int) -> list:
        items = []
        while True:
            self.skip_blank()
            if self.pos >= len(self.lines):
                break
            _, ind, raw = self.lines[self.pos]
            text = _strip_comment(raw).strip()
            if ind != indent or not (text == "-" or text.startswith("- ")):
                if ind > indent:
                    raise YamlError(f"{self.where()}: unexpected indentation")
                break
            rest = text[1:].strip()
            if not rest:
                self.pos += 1
                items.append(self.parse_block(indent + 1))
            elif _KEY.match(rest):
                # "- key: value" opens a mapping whose keys sit at the dash's indent + 2.
                self.lines[self.pos] = (self.lines[self.pos][0], indent + 2, " " * (indent + 2) + rest)
                items.append(self.parse_map(indent + 2))
            else:
                self.pos += 1
                items.append(_scalar(rest, self.where()))
        return items

    def parse_map(self, indent: int) -> dict:
        out: dict[str, Any] = {}
        while True:
            self.skip_blank()
            if self.pos >= len(self.lines):
                break
            no, ind, raw = self.lines[self.pos]
            if ind < indent:
                break
            if ind > indent:
                raise YamlError(f"{self.name}:{no}: unexpected indentation")
            text = _strip_comment(raw).strip()
            m = _KEY.match(text)
            if not m:
                if text.startswith("- "):
                    break
                raise YamlError(f"{self.name}:{no}: expected `key: value`, got {text!r}")
            key, value = m.group(1), (m.group(2) or "").strip()
            if key in out:
                raise YamlError(f"{self.name}:{no}: duplicate key {key!r}")
            self.pos += 1
            if value in ("|", ">", "|-", ">-"):
                out[key] = self.block_scalar(indent, folded=value.startswith(">"))
            elif value:
                out[key] = _scalar(value, f"{self.name}:{no}")
            else:
                out[key] = self.parse_block(indent + 1)
        return out

    def block_scalar(self, parent_indent: int, *, folded: bool) -> str:
        lines: list[str] = []
        body_indent = None
        while self.pos < len(self.lines):
            _, ind, raw = self.lines[self.pos]
            if raw.strip() and ind <= parent_indent:
                break
            if raw.strip() and body_indent is None:
                body_indent = ind
            lines.append(raw[body_indent:] if body_indent is not None and raw.strip() else "")
            self.pos += 1
        while lines and not lines[-1]:
            lines.pop()
        if not folded:
            return "\n".join(lines) + "\n"
        paragraphs, cur = [], []
        for line in lines:
            if line.strip():
                cur.append(line.strip())
            else:
                paragraphs.append(" ".join(cur))
                cur = []
        paragraphs.append(" ".join(cur))
        return "\n".join(p for p in paragraphs if p) + "\n"


def loads(text: str, name: str = "<yaml>") -> Any:
    """Parse ``text`` (the supported subset of YAML)."""
    parser = _Parser(text, name)
    result = parser.parse_block(0)
    parser.skip_blank()
    if parser.pos < len(parser.lines):
        raise YamlError(f"{parser.where()}: could not parse this line")
    return result


def load(path: str | Path) -> Any:
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path))
