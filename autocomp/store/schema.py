"""The run database: schema, migrations and the checks done before anything is written.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``. A database
newer than this code, or one SQLite cannot read, raises :class:`StoreError`
and is left exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from autocomp.store.errors import CorruptRunError, SchemaTooNewError, StoreError

DB_NAME = "run.sqlite"

_V1 = """
CREATE TABLE run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    run_id TEXT NOT NULL,
    problem TEXT NOT NULL,
    problem_hash TEXT,
    problem_path TEXT,
    target TEXT,
    seed INTEGER,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
    status_reason TEXT,
    best_candidate INTEGER,
    baseline_candidate INTEGER,
    baseline_latency_us REAL,
    autocomp_version TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES candidates(id),
    iteration INTEGER NOT NULL,
    origin TEXT NOT NULL,
    plan TEXT,
    source TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    latency_us REAL,
    speedup REAL,
    evidence TEXT,
    llm_call_id INTEGER REFERENCES llm_calls(id),
    meta_json TEXT,
    created REAL NOT NULL
);
CREATE INDEX candidates_source_hash ON candidates(source_hash);
CREATE INDEX candidates_iteration ON candidates(iteration);
CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    purpose TEXT NOT NULL DEFAULT 'search',
    status TEXT NOT NULL,
    latency_us REAL,
    evidence TEXT,
    target TEXT,
    reason TEXT,
    result_json TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (candidate_id, purpose)
);
CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phase TEXT NOT NULL,
    sample_index INTEGER NOT NULL DEFAULT 0,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0,
    cache_hit INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_type TEXT,
    error TEXT,
    cache_key TEXT,
    request_json TEXT,
    response_text TEXT,
    started REAL,
    created REAL NOT NULL
);
CREATE TABLE iterations (
    iteration INTEGER PRIMARY KEY,
    beam_json TEXT NOT NULL,
    best_candidate INTEGER,
    completed REAL NOT NULL
);
"""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would split a migration into several transactions.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V1)


# Version 2: the search's decisions, committed before they are acted on, so a resumed run replays them
# (see RunStore.record_decisions). ``key`` names the decision (an iteration's plans, one LLM answer, one
# knob proposal); ``candidate_id`` is the candidate it produced or resolved to as a duplicate.
_V2 = """
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    iteration INTEGER NOT NULL,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent_id INTEGER REFERENCES candidates(id),
    candidate_id INTEGER REFERENCES candidates(id),
    data_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX decisions_iteration ON decisions(iteration);
"""


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V2)


# Version 3: a checkpoint names its search strategy. ``state_json`` is the strategy's checkpoint state without its
# parents (those stay in ``beam_json``), e.g. {"kind": "beam"}; NULL in rows written before: beam search.
_V3 = """
ALTER TABLE iterations ADD COLUMN state_json TEXT
"""


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V3)


# One entry per schema version; append, never edit a released step.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_to_1, _migrate_to_2, _migrate_to_3]
# Steps that only add tables or columns a reader can do without: a run at the version before such a step is read
# as it is (an older run stays listable and reportable without being opened for writing). Add a step here only if
# every reader query still works on a database that lacks what it adds.
ADDITIVE: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_to_2, _migrate_to_3)


def schema_version() -> int:
    """The schema version this code writes."""
    return len(MIGRATIONS)


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """Open an existing database (never creates one) with WAL, foreign keys and a busy timeout."""
    mode = "ro" if readonly else "rw"
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False, isolation_level=None)
    except sqlite3.OperationalError as e:
        raise StoreError(f"{path}: cannot open the run database ({e})") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise CorruptRunError(_corrupt_message(path, e)) from None
    return conn


def create_database(path: Path) -> sqlite3.Connection:
    """Create a fresh database at the current schema version. ``path`` must not exist."""
    if path.exists():
        raise StoreError(f"{path}: already exists; refusing to overwrite a run database")
    conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (0)")
    conn.execute("COMMIT")
    migrate(conn, path)
    return conn


def _corrupt_message(path: Path, err: Exception) -> str:
    return (f"{path}: not a readable autocomp run database ({err}). Nothing was changed; move the run directory "
            "aside or restore it from a backup")


def read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The database's schema version; raises CorruptRunError for unreadable or foreign files."""
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise CorruptRunError(_corrupt_message(path, e)) from None
    if row is None:
        raise CorruptRunError(_corrupt_message(path, "schema_version is empty"))
    return int(row[0])


def check_version(version: int, path: Path) -> None:
    """Refuse a database written by a newer autocomp."""
    if version > schema_version():
        raise SchemaTooNewError(
            f"{path}: written by a newer autocomp (run schema version {version}, this autocomp reads up to "
            f"{schema_version()}); upgrade autocomp to open it. The run was not changed")


def readable_as_is(version: int) -> bool:
    """Whether readers of this code can read a database at ``version`` without migrating it."""
    return all(step in ADDITIVE for step in MIGRATIONS[version:])


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check``: a damaged file is reported, never written to."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        raise CorruptRunError(_corrupt_message(path, e)) from None
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        raise CorruptRunError(_corrupt_message(path, "; ".join(problems[:3])))


def probe(path: Path) -> int:
    """Check version and integrity over a read-only connection; returns the version."""
    conn = connect(path, readonly=True)
    try:
        version = read_version(conn, path)
        check_version(version, path)
        check_integrity(conn, path)
        return version
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the database up to the current version, one transaction per step. Returns the final version."""
    version = read_version(conn, path)
    check_version(version, path)
    while version < schema_version():
        step = MIGRATIONS[version]
        try:
            conn.execute("BEGIN IMMEDIATE")
            step(conn)
            conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version += 1
    return version
