"""Is a run database shaped the way this code reads it? Checked once when a run is opened.

SQLite's own checks (``quick_check``) pass a well-formed file of the wrong shape: a foreign database, a table
dropped by hand, text where a number belongs. Those would otherwise surface later as an ``OperationalError`` or a
format error in whatever command happened to read the damaged part; here they become one
:class:`CorruptRunError` naming the file and what is wrong, before anything is read or written.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from pathlib import Path

from autocomp.store import schema
from autocomp.store.errors import CorruptRunError, StoreError

_NUMERIC = ("INTEGER", "REAL")


@cache
def expected_columns(version: int) -> dict[str, dict[str, str]]:
    """Table -> column -> declared type of a database at ``version``, from running the migrations in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in schema.MIGRATIONS[:version]:
            step(conn)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        return {t: {r[1]: (r[2] or "").upper() for r in conn.execute(f'PRAGMA table_info("{t}")')} for t in tables}
    finally:
        conn.close()


def _wrong(path: Path, what: str) -> CorruptRunError:
    return CorruptRunError(f"{path}: not a readable autocomp run database ({what}). Nothing was changed; move the "
                           "run directory aside or restore it from a backup")


def check_structure(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Every table and column of schema ``version`` is present and numeric columns hold only numbers."""
    expected = expected_columns(version)
    try:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, columns in expected.items():
            if table not in present:
                raise _wrong(path, f"table {table} is missing")
            have = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
            missing = [c for c in columns if c not in have]
            if missing:
                raise _wrong(path, f"table {table} has no column {', '.join(missing)}")
        for table, columns in expected.items():
            numeric = [c for c, kind in columns.items() if kind in _NUMERIC]
            if not numeric:
                continue
            bad = " OR ".join(f"typeof(\"{c}\") NOT IN ('integer', 'real', 'null')" for c in numeric)
            row = conn.execute(f'SELECT * FROM "{table}" WHERE {bad} LIMIT 1').fetchone()
            if row is not None:
                column = next(c for c in numeric if not isinstance(row[c], (int, float, type(None))))
                raise _wrong(path, f"{table}.{column} holds {row[column]!r} where a number belongs")
    except sqlite3.DatabaseError as e:
        raise database_error(path, e) from None


def database_error(path: Path, err: sqlite3.DatabaseError) -> StoreError:
    """What a failed query means for the user: another process holds the database (try again) or it is damaged."""
    text = str(err)
    if "locked" in text or "busy" in text:
        return StoreError(f"{path}: the run database is busy ({text}); another autocomp is writing it, try again "
                          "in a moment")
    return _wrong(path, text)
