"""Schema creation, migrations, and refusing (never overwriting) newer or corrupt run databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autocomp.store import CorruptRunError, RunReader, RunStore, SchemaTooNewError, StoreError, schema


def _snapshot(root: Path) -> dict[str, bytes]:
    # The -shm file is SQLite's shared-memory index, not data; the database and its WAL must not change.
    return {p.name: p.read_bytes() for p in root.iterdir() if p.name in ("run.sqlite", "run.sqlite-wal")}


def _version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]


def test_create_writes_current_schema_in_wal_mode(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        db = store.root / "run.sqlite"
        assert store.info.schema_version == schema.schema_version()
        mode = store._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert _version(db) == schema.schema_version()
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "run", "candidates", "evaluations", "llm_calls", "iterations"} <= tables


def test_run_id_is_sortable_and_names_the_problem(runs_dir, problem):
    a = RunStore.create(runs_dir, problem, {}, clock=lambda: 1_800_000_000.0)
    b = RunStore.create(runs_dir, problem, {}, clock=lambda: 1_800_000_061.0)
    a.close()
    b.close()
    assert a.run_id.startswith("20270115-080000-vec_add-") and len(a.run_id.rsplit("-", 1)[1]) == 4
    assert sorted([b.run_id, a.run_id]) == [a.run_id, b.run_id]


def test_create_refuses_an_existing_run_directory(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}, run_id="fixed") as store:
        store.add_candidate("x = 1\n", origin="baseline", iteration=0)
    before = _snapshot(runs_dir / "fixed")
    with pytest.raises(StoreError, match="refusing to overwrite"):
        RunStore.create(runs_dir, problem, {}, run_id="fixed")
    assert _snapshot(runs_dir / "fixed") == before
    with RunReader.open_readonly(runs_dir / "fixed") as run:
        assert run.counts()["candidates"] == 1


def test_migrations_run_in_order_and_keep_data(runs_dir, problem, monkeypatch):
    with RunStore.create(runs_dir, problem, {}) as store:
        cid = store.add_candidate("x = 1\n", origin="baseline", iteration=0)
        root = store.root

    def add_notes(conn):
        conn.execute("ALTER TABLE candidates ADD COLUMN notes TEXT")

    current = schema.schema_version()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, add_notes])
    with RunStore.open(root) as store:
        assert store.info.schema_version == current + 1
        assert store.candidate(cid).origin == "baseline"
        cols = {r[1] for r in store._conn.execute("PRAGMA table_info(candidates)")}
    assert "notes" in cols
    assert _version(root / "run.sqlite") == current + 1


def test_a_failing_migration_rolls_back_and_leaves_the_version(runs_dir, problem, monkeypatch):
    with RunStore.create(runs_dir, problem, {}) as store:
        root = store.root

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration bug")

    current = schema.schema_version()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        RunStore.open(root)
    assert _version(root / "run.sqlite") == current
    with sqlite3.connect(root / "run.sqlite") as conn:
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall()
    monkeypatch.undo()
    RunStore.open(root).close()  # the lock was released despite the failure


def test_readers_refuse_an_older_schema_instead_of_writing(runs_dir, problem, monkeypatch):
    with RunStore.create(runs_dir, problem, {}) as store:
        root = store.root
    current = schema.schema_version()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, lambda conn: None])
    with pytest.raises(StoreError, match="older run"):
        RunReader.open_readonly(root)
    assert _version(root / "run.sqlite") == current


def test_newer_schema_is_refused_and_never_touched(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        store.add_candidate("x = 1\n", origin="baseline", iteration=0)
        root = store.root
    with sqlite3.connect(root / "run.sqlite") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    before = _snapshot(root)
    for opener in (RunStore.open, RunReader.open_readonly, RunStore.resume):
        with pytest.raises(SchemaTooNewError, match="newer autocomp .*version 99.*upgrade autocomp"):
            opener(root)
    assert _snapshot(root) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty_schema"])
def test_corrupt_database_is_reported_and_never_overwritten(runs_dir, problem, damage):
    with RunStore.create(runs_dir, problem, {}) as store:
        for i in range(8):
            store.add_candidate(f"x = {i}\n" * 300, origin="llm", iteration=1)
        root = store.root
    db = root / "run.sqlite"
    with sqlite3.connect(db) as conn:  # fold the WAL in so the main file holds everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    else:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM schema_version")
    before = _snapshot(root)
    for opener in (RunStore.open, RunReader.open_readonly):
        with pytest.raises(CorruptRunError, match="Nothing was changed"):
            opener(root)
    assert _snapshot(root) == before


def test_open_never_creates_a_database(tmp_path):
    (tmp_path / "not_a_run").mkdir()
    with pytest.raises(StoreError, match="not a run directory"):
        RunStore.open(tmp_path / "not_a_run")
    assert not (tmp_path / "not_a_run" / "run.sqlite").exists()


def test_a_run_from_before_named_checkpoints_reads_as_beam_search_and_upgrades_on_open(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        cid = store.add_candidate("x = 1\n", origin="baseline", iteration=0)
        store.record_checkpoint(0, {"kind": "beam", "parents": [cid]})
        root = store.root
    db = root / "run.sqlite"
    with sqlite3.connect(db) as conn:  # as schema version 2 wrote it: no state_json column
        conn.execute("ALTER TABLE iterations DROP COLUMN state_json")
        conn.execute("UPDATE schema_version SET version = 2")
    with RunReader.open_readonly(root) as run:  # read as it is, without migrating
        assert [(b.beam, b.state) for b in run.beams()] == [([cid], {"kind": "beam", "parents": [cid]})]
    assert _version(db) == 2
    with RunStore.open(root) as store:
        store.record_checkpoint(1, {"kind": "beam", "parents": [cid], "note": "kept"})
        assert [b.state for b in store.beams()] == [{"kind": "beam", "parents": [cid]},
                                                     {"kind": "beam", "parents": [cid], "note": "kept"}]
    assert _version(db) == schema.schema_version()


def test_a_checkpoint_must_name_its_strategy(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store, pytest.raises(ValueError, match="names no strategy kind"):
        store.record_checkpoint(0, {"parents": []})
