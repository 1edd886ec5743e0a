"""The experience memory's SQLite store, shared by every run of a user (and by runs in parallel).

One table of entries. Each operation opens its own short connection (WAL, a busy timeout), so
several runs finishing at once, or ``autocomp memory`` while a run is going, wait for each other
instead of failing. An entry's ``key`` is unique: recording it again (a resumed run that finishes
again, an import of the same file) leaves the store as it was.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autocomp.memory.entry import Bottleneck, MemoryEntry

SCHEMA_VERSION = 1
EXPORT_FORMAT = "autocomp-memory"
BUSY_TIMEOUT_S = 30.0

_COLUMNS = ("key", "kind", "problem", "family", "tags", "target", "dialect", "evidence", "idea", "plan", "change",
            "outcome", "gain", "latency_us", "parent_latency_us", "bottleneck", "run_id", "candidate_id",
            "parent_id", "created")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    problem TEXT NOT NULL,
    family TEXT NOT NULL,
    tags TEXT NOT NULL,
    target TEXT NOT NULL,
    dialect TEXT NOT NULL,
    evidence TEXT NOT NULL,
    idea TEXT NOT NULL,
    plan TEXT NOT NULL,
    change TEXT NOT NULL,
    outcome TEXT NOT NULL,
    gain REAL,
    latency_us REAL,
    parent_latency_us REAL,
    bottleneck TEXT NOT NULL,
    run_id TEXT NOT NULL,
    candidate_id INTEGER,
    parent_id INTEGER,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_family ON entries (family, evidence);
"""


class MemoryStoreError(Exception):
    """The memory file or an import file cannot be used; the message names the file and the fix."""


class MemoryStore:
    """The entries in one memory file (created on first write)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # ------------------------------------------------------------------ connection
    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise MemoryStoreError(f"{self.path}: cannot create its directory ({e.strerror}); pass --memory "
                                       "with a writable path, or --no-memory") from None
        elif not self.path.is_file():
            yield None  # type: ignore[misc]  # nothing recorded yet: reads see an empty store
            return
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise MemoryStoreError(f"{self.path}: cannot open the memory store ({e}); pass --memory with another "
                                   "path, or --no-memory") from None
        try:
            conn.row_factory = sqlite3.Row
            try:
                ready = self._check(conn, write=write)
                yield conn if ready else None  # an empty file: reads see an empty store
            except sqlite3.DatabaseError as e:
                raise MemoryStoreError(f"{self.path}: not a usable autocomp memory store ({e}); move it away (a "
                                       "new one is created) or pass --memory with another path") from None
        finally:
            conn.close()

    def _check(self, conn: sqlite3.Connection, *, write: bool) -> bool:
        """Refuse a file that is not a memory store (or is a newer one); create the table on the first write.
        Whether the store has its table."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise MemoryStoreError(f"{self.path}: written by a newer autocomp (memory format {version}, this one "
                                   f"reads {SCHEMA_VERSION}); upgrade autocomp or pass --memory with another path")
        if version == 0:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"entries", "sqlite_sequence"}:
                raise MemoryStoreError(f"{self.path}: an SQLite file that is not an autocomp memory store; pass "
                                       "--memory with another path")
            if not write:
                return False
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return True

    # ------------------------------------------------------------------ writing
    def add(self, entries: Iterable[MemoryEntry]) -> list[MemoryEntry]:
        """Store ``entries`` whose key is new, in one transaction; returns the ones added (with their ids)."""
        entries = list(entries)
        if not entries:
            return []
        added = []
        with self._connect(write=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for entry in entries:
                    row = _row(entry)
                    cur = conn.execute(f"INSERT OR IGNORE INTO entries ({', '.join(_COLUMNS)}) VALUES "
                                       f"({', '.join('?' for _ in _COLUMNS)})", row)
                    if cur.rowcount:
                        added.append(entry.model_copy(update={"id": int(cur.lastrowid)}))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return added

    def clear(self, *, evidence: str | None = None) -> int:
        """Delete every entry (or those of one evidence tier); returns how many were deleted."""
        if not self.path.is_file():
            return 0
        with self._connect(write=True) as conn:
            if evidence is None:
                return conn.execute("DELETE FROM entries").rowcount
            return conn.execute("DELETE FROM entries WHERE evidence = ?", (evidence,)).rowcount

    # ------------------------------------------------------------------ reading
    def entries(self, *, evidence: str | None = None, problem: str | None = None,
                kind: str | None = None) -> list[MemoryEntry]:
        """Entries in the order they were stored, optionally of one evidence tier, problem or kind."""
        clauses, args = [], []
        for column, value in (("evidence", evidence), ("problem", problem), ("kind", kind)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect(write=False) as conn:
            if conn is None:
                return []
            rows = conn.execute(f"SELECT * FROM entries{where} ORDER BY id", args).fetchall()
        return [self._entry(r) for r in rows]

    def get(self, entry_id: int) -> MemoryEntry | None:
        with self._connect(write=False) as conn:
            if conn is None:
                return None
            row = conn.execute("SELECT * FROM entries WHERE id = ?", (int(entry_id),)).fetchone()
        return self._entry(row) if row is not None else None

    def _entry(self, row: sqlite3.Row) -> MemoryEntry:
        data = dict(row)
        try:
            data["tags"] = json.loads(data["tags"])
            data["bottleneck"] = Bottleneck.model_validate(json.loads(data["bottleneck"]))
            return MemoryEntry.model_validate(data)
        except (ValueError, ValidationError) as e:
            raise MemoryStoreError(f"{self.path}: entry {data.get('id')} is damaged ({_first_error(e)}); delete "
                                   "it with `autocomp memory clear` or move the file away") from None

    # ------------------------------------------------------------------ files
    def export(self, path: str | Path, *, evidence: str | None = None) -> int:
        """Write the entries (of one tier, or all) as one JSON file; returns how many."""
        entries = self.entries(evidence=evidence)
        doc = {"format": EXPORT_FORMAT, "version": SCHEMA_VERSION,
               "entries": [e.model_dump(mode="json", exclude={"id"}) for e in entries]}
        Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return len(entries)

    def import_file(self, path: str | Path) -> tuple[int, int]:
        """Add the entries of an exported file (each validated and capped like a new one): (added, already
        there). A bad file is refused whole, naming the entry and the field."""
        entries = read_export(path)
        added = self.add(entries)
        return len(added), len(entries) - len(added)


def read_export(path: str | Path) -> list[MemoryEntry]:
    """The entries of a file written by ``autocomp memory export``, validated."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MemoryStoreError(f"{path}: cannot read it ({e.strerror}); give a file written by "
                               "`autocomp memory export`") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise MemoryStoreError(f"{path}: not JSON ({e}); give a file written by `autocomp memory export`") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT or not isinstance(doc.get("entries"), list):
        raise MemoryStoreError(f"{path}: not an autocomp memory export (expected an object with format = "
                               f"{EXPORT_FORMAT!r} and a list of entries)")
    if not isinstance(doc.get("version"), int) or doc["version"] > SCHEMA_VERSION:
        raise MemoryStoreError(f"{path}: memory format {doc.get('version')!r}; this autocomp reads format "
                               f"{SCHEMA_VERSION} or older: upgrade autocomp")
    out = []
    for i, raw in enumerate(doc["entries"]):
        if not isinstance(raw, dict):
            raise MemoryStoreError(f"{path}: entry {i} is not an object")
        try:
            out.append(MemoryEntry.model_validate({k: v for k, v in raw.items() if k != "id"}))
        except ValidationError as e:
            raise MemoryStoreError(f"{path}: entry {i}: {_first_error(e)}; fix or remove that entry") from None
    return out


def _row(entry: MemoryEntry) -> Sequence[Any]:
    data = entry.model_dump(mode="json")
    data["tags"] = json.dumps(data["tags"])
    data["bottleneck"] = json.dumps(data["bottleneck"], sort_keys=True)
    data["created"] = data["created"] or time.time()
    return tuple(data[c] for c in _COLUMNS)


def _first_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "entry"
        return f"{where}: {err['msg']}"
    return str(e)
