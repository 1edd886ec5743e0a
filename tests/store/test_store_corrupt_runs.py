"""Damaged runs through the CLI: every command gives one line and exit 2, `runs list` still lists the other runs,
and nothing in the damaged run (or an earlier report) is changed."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.store import CorruptRunError, RunReader, RunStore

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _truncate(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[:len(data) // 2])


def _foreign(db: Path) -> None:
    db.unlink()
    _sql(db, "CREATE TABLE notes (text TEXT)")


# name -> (how the run is damaged, what the one error line says)
DAMAGE = {
    "garbage": (lambda run: (run / "run.sqlite").write_bytes(b"not sqlite \x00\xff" * 300), "file is not a database"),
    "truncated": (lambda run: _truncate(run / "run.sqlite"), "malformed"),
    "empty": (lambda run: (run / "run.sqlite").write_bytes(b""), "not a readable autocomp run database"),
    "foreign": (lambda run: _foreign(run / "run.sqlite"), "not a readable autocomp run database"),
    "dropped_table": (lambda run: _sql(run / "run.sqlite", "DROP TABLE candidates"), "table candidates is missing"),
    "dropped_column": (lambda run: _sql(run / "run.sqlite", "ALTER TABLE run DROP COLUMN problem"),
                       "table run has no column problem"),
    "text_for_number": (lambda run: _sql(run / "run.sqlite", "UPDATE candidates SET latency_us = 'fast'"),
                        "candidates.latency_us holds 'fast' where a number belongs"),
    "newer_schema": (lambda run: _sql(run / "run.sqlite", "UPDATE schema_version SET version = 999"),
                     "written by a newer autocomp"),
    "damaged_json": (lambda run: _sql(run / "run.sqlite", "UPDATE iterations SET beam_json = '{nope'",
                                      "UPDATE evaluations SET result_json = 'xx'"), "a stored value is damaged"),
}


@pytest.fixture
def good_and_damaged(runs_dir, run_dir, request) -> tuple[Path, Path, str]:
    """A good run and a copy of it damaged as ``request.param`` says; returns both and the expected message."""
    damage, message = DAMAGE[request.param]
    broken = runs_dir / f"20200101-000000-broken-{request.param}"
    shutil.copytree(run_dir, broken)
    damage(broken)
    return run_dir, broken, message


def _fingerprint(directory: Path) -> dict[str, str]:
    """Content hash of every file of a run except the writer lock and SQLite's transient WAL/SHM files."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != "run.lock" and not p.name.endswith(("-wal", "-shm"))}


def _one_error_line(res, message: str) -> None:
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("good_and_damaged", sorted(DAMAGE), indirect=True)
def test_runs_list_marks_the_damaged_run_and_lists_the_others(runs_dir, good_and_damaged):
    good, broken, message = good_and_damaged
    res = invoke("runs", "list", "--dir", str(runs_dir))
    assert res.exit_code == 0, res.output
    good_row = next(line for line in res.output.splitlines() if line.startswith(f" {good.name}"))
    assert "finished" in good_row and "1.33x" in good_row
    if message == "a stored value is damaged":  # only `show` and `report` read that column
        return
    broken_row = next(line for line in res.output.splitlines() if line.startswith(f" {broken.name}"))
    assert "unreadable" in broken_row
    detail = [line for line in res.output.splitlines() if line.startswith(f"{broken.name}: ")]
    assert len(detail) == 1 and message in detail[0]


@pytest.mark.parametrize("good_and_damaged", sorted(DAMAGE), indirect=True)
def test_every_command_on_a_damaged_run_gives_one_line_and_changes_nothing(runs_dir, good_and_damaged, tmp_path):
    _, broken, message = good_and_damaged
    old_report = broken / "report.html"
    old_report.write_text("<!DOCTYPE html><p>the report from before</p>")
    before = _fingerprint(broken)
    commands = [("runs", "show", broken.name, "--dir", str(runs_dir)),
                ("report", broken.name, "--dir", str(runs_dir), "--no-reprofile"),
                ("optimize", "--resume", str(broken), "--agent", "knobs", "--quiet")]
    if message != "a stored value is damaged":  # diff and export read only the kernel sources
        commands += [("runs", "diff", broken.name, "1", "2", "--dir", str(runs_dir)),
                     ("runs", "export", broken.name, str(tmp_path / "out.py"), "--dir", str(runs_dir))]
    for args in commands:
        _one_error_line(invoke(*args), message)
    assert _fingerprint(broken) == before
    assert not (tmp_path / "out.py").exists()


def test_the_reader_refuses_a_wrong_schema_before_reading(run_dir):
    _sql(run_dir / "run.sqlite", "DROP TABLE llm_calls")
    with pytest.raises(CorruptRunError, match="table llm_calls is missing"):
        RunReader.open_readonly(run_dir)
    with pytest.raises(CorruptRunError, match="table llm_calls is missing"):
        RunStore.open(run_dir)  # the writer checks too, before it writes anything


def test_a_damaged_config_is_named_and_left_alone(runs_dir, run_dir):
    (run_dir / "config.toml").write_bytes(b"\xff\xfe beam = [[[")
    before = _fingerprint(run_dir)
    res = invoke("report", run_dir.name, "--dir", str(runs_dir), "--no-reprofile")
    _one_error_line(res, "config.toml: damaged")
    res = invoke("optimize", "--resume", str(run_dir), "--agent", "knobs", "--quiet")
    _one_error_line(res, "config.toml: damaged")
    assert _fingerprint(run_dir) == before


def test_outputs_never_replace_a_runs_own_files(runs_dir, run_dir):
    before = _fingerprint(run_dir)
    res = invoke("runs", "export", str(run_dir), str(run_dir / "run.sqlite"))
    _one_error_line(res, "inside the run directory")
    res = invoke("report", str(run_dir), "-o", str(run_dir / "candidates" / "0001" / "kernel.py"), "--no-reprofile")
    _one_error_line(res, "inside the run directory")
    res = invoke("report", str(run_dir), "-o", str(run_dir / "candidates"), "--no-reprofile")
    _one_error_line(res, "is a directory")
    assert _fingerprint(run_dir) == before
    res = invoke("report", str(run_dir), "-o", str(run_dir / "second.html"), "--no-reprofile")
    assert res.exit_code == 0 and (run_dir / "second.html").is_file()  # an HTML report beside the run's files


def test_candidate_ids_out_of_range_are_one_line(runs_dir, run_dir):
    res = invoke("runs", "diff", str(run_dir), "1", "99999999999999999999999")
    _one_error_line(res, "is not a candidate id")
