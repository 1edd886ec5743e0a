"""The identity of a kernel source: one normalisation, one content hash, for the run store and the evaluator.

Two uses share it. The run store folds a kernel that differs from an earlier one only in comments or layout
into that earlier candidate (it is never stored or evaluated again), and the search names candidates by it
(slots, lineage groups, seeds). The evaluator's cache keys results by it, so two sources may share a key only
when they cannot behave differently.

The normalisation is the source as ``ast.unparse`` prints its syntax tree. Equal trees compile to the same
code, so this folds exactly what cannot change behaviour: comments, blank lines, spacing, line continuations,
redundant parentheses, quote style and the spelling of a literal. A token-level normalisation would keep some
of these apart (quote style, parentheses), which only costs duplicates; it would not merge anything the tree
keeps apart, so the tree is the coarser choice that is still safe for the cache. Two things a tree does not
hold are kept on purpose: a PEP 263 encoding declaration (``# -*- coding: latin-1 -*-``) changes how the file
the evaluator writes is decoded, so it prefixes the text; line numbers are not kept, so a cached verdict of a
re-spaced kernel names the lines of the kernel first evaluated (the verdict itself is the same).

Text that does not parse is compared by its lines with trailing whitespace removed.

``source_hash`` (16 hex digits) is the name the run store keeps for each candidate; ``source_digest`` (the
whole sha256) keys the evaluator's cache, where a truncated key would let a crafted collision inherit another
kernel's verdict.
"""

from __future__ import annotations

import ast
import hashlib
import re

from autocomp.pyparse import parse_python

HASH_CHARS = 16
# PEP 263: the declaration on line 1 or 2, in a comment.
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def encoding_declaration(text: str) -> str | None:
    """The encoding a PEP 263 comment on the first two lines declares, lower-cased, or None."""
    for line in text.split("\n", 2)[:2]:
        m = _CODING.match(line)
        if m:
            return m.group(1).lower()
        if line.strip() and not line.lstrip().startswith("#"):
            return None  # code before the declaration: it no longer counts
    return None


def normalize_source(source: str) -> str:
    """The source as ``ast.unparse`` prints it (no comments, canonical layout), after its encoding declaration
    if it has one; the lines without trailing whitespace if it does not parse."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        body = ast.unparse(parse_python(text))
    except (SyntaxError, ValueError, RecursionError):
        body = "\n".join(line.rstrip() for line in text.strip().splitlines())
    coding = encoding_declaration(text)
    return f"# coding: {coding}\n{body}" if coding else body


def source_digest(source: str) -> str:
    """sha256 (64 hex digits) of the normalised source: the evaluator's cache key for it."""
    return hashlib.sha256(normalize_source(source).encode("utf-8")).hexdigest()


def source_hash(source: str) -> str:
    """The first 16 hex digits of :func:`source_digest`: a candidate's name in the run store and the search."""
    return source_digest(source)[:HASH_CHARS]


__all__ = ["encoding_declaration", "normalize_source", "source_digest", "source_hash"]
