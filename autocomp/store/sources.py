"""Normalized source hashes: two kernels that differ only in comments or layout are the same candidate."""

from __future__ import annotations

import ast
import hashlib


def normalize_source(source: str) -> str:
    """The source as ``ast.unparse`` prints it (no comments, canonical layout); raw text if it does not parse."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return ast.unparse(ast.parse(text))
    except (SyntaxError, ValueError, RecursionError):
        return "\n".join(line.rstrip() for line in text.strip().splitlines())


def source_hash(source: str) -> str:
    """sha256 prefix of the normalized source: the dedup key of candidates."""
    return hashlib.sha256(normalize_source(source).encode("utf-8")).hexdigest()[:16]
