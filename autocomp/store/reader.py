"""Reading a run directory: the queries the CLI, report, notebook explorer and resume share."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from autocomp.settings import runs_dir_flag
from autocomp.sources import source_hash
from autocomp.store import schema
from autocomp.store.config import load_config
from autocomp.store.errors import CorruptRunError, RunNotFoundError, StoreError
from autocomp.store.files import read_jsonl
from autocomp.store.records import (
    PENDING,
    BeamSnapshot,
    Candidate,
    Decision,
    Evaluation,
    LLMCall,
    ResumeState,
    RunInfo,
    Spend,
)
from autocomp.store.validate import check_structure, database_error

CONFIG_NAME = "config.toml"
EVENTS_NAME = "events.jsonl"
CANDIDATES_DIR = "candidates"
PROBLEM_DIR = "problem"
CALIBRATION_NAME = "calibration.toml"  # a copy of the cost-model calibration the run was started with
SEARCH = "search"
HW = "hw"  # a two-tier run's hardware measurement of a candidate, beside its sim ``search`` evaluation
# The schema version that added the decisions table.
DECISIONS_SINCE = 2
# The strategy of a checkpoint written before checkpoints named theirs (autocomp.search.strategy.LEGACY_KIND).
LEGACY_CHECKPOINT_KIND = "beam"


def candidate_dirname(candidate_id: int) -> str:
    """``candidates/<id>/`` names are zero-padded so they sort in a file browser."""
    return f"{int(candidate_id):04d}"


def eval_filename(purpose: str) -> str:
    if purpose == SEARCH:
        return "eval.json"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in purpose)
    return f"eval-{safe}.json"


class RunReader:
    """Read-only access to one run directory. Safe to use while a writer is running (WAL)."""

    def __init__(self, root: Path, conn: sqlite3.Connection, version: int):
        self.root = root
        self._conn = conn
        self._version = version
        self._lock = threading.RLock()
        check_structure(conn, root / schema.DB_NAME, version)  # before any read, and before a writer writes
        row = self._row("SELECT run_id FROM run WHERE id = 1")
        if row is None:
            raise StoreError(f"{root / schema.DB_NAME}: has no run row; the run was never fully created")
        self._run_id: str = row["run_id"]

    @classmethod
    def open_readonly(cls, path: str | Path) -> RunReader:
        """Open ``path`` (a run directory, or its run.sqlite) for reading."""
        root = run_root(path)
        db = root / schema.DB_NAME
        conn = schema.connect(db, readonly=True)
        try:
            version = schema.read_version(conn, db)
            schema.check_version(version, db)
            if not schema.readable_as_is(version):
                raise StoreError(f"{db}: an older run (schema version {version}); open it for writing once "
                                 "(RunStore.open) to upgrade it")
            return cls(root, conn, version)
        except BaseException:
            conn.close()
            raise

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            if self._conn is None:
                raise StoreError(f"{self.root}: the run store is closed")
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as e:  # damaged pages found by this query, or another process's lock
                raise database_error(self.root / schema.DB_NAME, e) from None

    def _row(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    # ------------------------------------------------------------ run
    @property
    def path(self) -> Path:
        return self.root

    @property
    def info(self) -> RunInfo:
        """The run row as it is now."""
        row = self._row("SELECT * FROM run WHERE id = 1")
        if row is None:
            raise StoreError(f"{self.root / schema.DB_NAME}: has no run row; the run was never fully created")
        return RunInfo.from_row(row, self._version)

    @property
    def run_id(self) -> str:
        return self._run_id

    def config(self) -> dict[str, Any]:
        """The resolved configuration from config.toml."""
        path = self.root / CONFIG_NAME
        try:
            return load_config(path)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise CorruptRunError(f"{path}: damaged ({e}); nothing was changed. Restore it from a backup, or "
                                  "fix it by hand (it records the run's options)") from None

    def events(self) -> list[dict]:
        """Every event in events.jsonl, oldest first (a torn last line is skipped)."""
        path = self.root / EVENTS_NAME
        try:
            return list(read_jsonl(path))
        except UnicodeDecodeError as e:
            raise CorruptRunError(f"{path}: damaged, not UTF-8 text ({e}); nothing was changed. Restore it from a "
                                  "backup, or move it aside to read the run without its event log") from None

    def problem_dir(self) -> Path | None:
        """The snapshot of the problem files taken when the run was created."""
        snap = self.root / PROBLEM_DIR
        return snap if (snap / "problem.toml").is_file() else None

    @property
    def problem_variant(self) -> str | None:
        """The problem variant the run optimised (the ``@VARIANT`` of its problem name), None for the default:
        load the snapshot with ``Problem.load(reader.problem_dir(), reader.problem_variant)``."""
        base, sep, variant = self.info.problem.rpartition("@")
        return variant if sep and base and variant else None

    def calibration_text(self) -> str | None:
        """The copy of the calibration file the run was started with (None: the built-in cost model)."""
        path = self.root / CALIBRATION_NAME
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as e:
            raise CorruptRunError(f"{path}: unreadable ({e}); restore it, or start a new run") from None

    # ------------------------------------------------------------ candidates
    def candidate_dir(self, candidate_id: int) -> Path:
        return self.root / CANDIDATES_DIR / candidate_dirname(candidate_id)

    def candidate(self, candidate_id: int) -> Candidate:
        row = self._row("SELECT * FROM candidates WHERE id = ?", (int(candidate_id),))
        if row is None:
            raise RunNotFoundError(f"run {self.root.name} has no candidate {candidate_id}; list them with "
                                   f"`autocomp runs show {self.root.name}{runs_dir_flag(self.root.parent)}`")
        return Candidate.from_row(row)

    def candidates(self, *, iteration: int | None = None, status: str | None = None) -> list[Candidate]:
        """Candidates in creation order, optionally of one iteration or status."""
        sql, args = "SELECT * FROM candidates WHERE 1 = 1", []
        if iteration is not None:
            sql += " AND iteration = ?"
            args.append(iteration)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return [Candidate.from_row(r) for r in self._rows(sql + " ORDER BY id", tuple(args))]

    def source(self, candidate_id: int) -> str:
        """The kernel source of a candidate (from the database, the source of truth)."""
        row = self._row("SELECT source FROM candidates WHERE id = ?", (int(candidate_id),))
        if row is None:
            self.candidate(candidate_id)
        return row["source"]

    def find_source(self, source: str) -> Candidate | None:
        """The first candidate whose normalized source equals ``source``'s."""
        digest = source_hash(source)
        row = self._row("SELECT * FROM candidates WHERE source_hash = ? ORDER BY id LIMIT 1", (digest,))
        if row is None:  # a run written while the hash meant something else stores other names: compare sources
            row = next((r for r in self._rows("SELECT * FROM candidates ORDER BY id")
                        if source_hash(r["source"]) == digest), None)
        return Candidate.from_row(row) if row else None

    def baseline(self) -> Candidate | None:
        row = self._row("SELECT * FROM candidates WHERE origin = 'baseline' ORDER BY id LIMIT 1")
        return Candidate.from_row(row) if row else None

    def best(self) -> Candidate | None:
        """The fastest correct candidate (by its search evaluation), or None before any is correct."""
        best = self.info.best_candidate
        return self.candidate(best) if best is not None else None

    def lineage(self, candidate_id: int) -> list[Candidate]:
        """The chain of parents from the root (usually the baseline) down to ``candidate_id``."""
        chain: list[Candidate] = []
        seen: set[int] = set()
        current: int | None = int(candidate_id)
        while current is not None and current not in seen:
            seen.add(current)
            cand = self.candidate(current)
            chain.append(cand)
            current = cand.parent_id
        return chain[::-1]

    def children(self) -> dict[int | None, list[Candidate]]:
        """Candidates grouped by parent id (None: roots), each list in creation order."""
        tree: dict[int | None, list[Candidate]] = {}
        for cand in self.candidates():
            tree.setdefault(cand.parent_id, []).append(cand)
        return tree

    # ------------------------------------------------------------ evaluations
    def evaluation(self, candidate_id: int, purpose: str = SEARCH) -> Evaluation | None:
        row = self._row("SELECT * FROM evaluations WHERE candidate_id = ? AND purpose = ?",
                        (int(candidate_id), purpose))
        return Evaluation.from_row(row) if row else None

    def evaluations(self, *, purpose: str | None = None) -> list[Evaluation]:
        if purpose is None:
            rows = self._rows("SELECT * FROM evaluations ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM evaluations WHERE purpose = ? ORDER BY id", (purpose,))
        return [Evaluation.from_row(r) for r in rows]

    def finished_sources(self) -> dict[str, Evaluation]:
        """Normalized source hash -> search evaluation, for every evaluated kernel (dedup on resume).

        Keyed by the hash stored with each candidate and by its source's hash now: they differ in a run written
        while the hash meant something else (``autocomp.sources``), and either may be looked up.
        """
        rows = self._rows("SELECT c.source_hash AS h, c.source AS src, e.* FROM evaluations e JOIN candidates c "
                          "ON c.id = e.candidate_id WHERE e.purpose = ? ORDER BY e.id", (SEARCH,))
        out: dict[str, Evaluation] = {}
        for row in rows:
            evaluation = Evaluation.from_row(_without(row, "h", "src"))
            out.setdefault(row["h"], evaluation)
            out.setdefault(source_hash(row["src"]), evaluation)
        return out

    def profile(self, candidate_id: int) -> dict | None:
        """The stored profile record (profile.json) of a candidate, or None."""
        path = self.candidate_dir(candidate_id) / "profile.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    # ------------------------------------------------------------ iterations
    def beams(self) -> list[BeamSnapshot]:
        """The checkpoint recorded at the end of each completed iteration: its parents (the beam) and strategy
        state."""
        out = []
        for r in self._rows("SELECT * FROM iterations ORDER BY iteration"):
            beam = json.loads(r["beam_json"])
            stored = r["state_json"] if "state_json" in r.keys() else None  # NULL or absent: before schema 3
            state = {**(json.loads(stored) if stored else {"kind": LEGACY_CHECKPOINT_KIND}), "parents": beam}
            out.append(BeamSnapshot(r["iteration"], beam, r["best_candidate"], r["completed"], state))
        return out

    # ------------------------------------------------------------ decisions
    def decisions(self, *, iteration: int | None = None) -> list[Decision]:
        """The search's recorded decisions in the order they were made (none for a run older than schema 2)."""
        if self._version < DECISIONS_SINCE:
            return []
        if iteration is None:
            rows = self._rows("SELECT * FROM decisions ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM decisions WHERE iteration = ? ORDER BY id", (int(iteration),))
        return [Decision.from_row(r) for r in rows]

    # ------------------------------------------------------------ LLM spend
    def llm_calls(self) -> list[LLMCall]:
        return [LLMCall.from_row(r) for r in self._rows("SELECT * FROM llm_calls ORDER BY id")]

    def llm_exchange(self, call_id: int) -> tuple[list[dict], str | None]:
        """The messages sent and the text received by one recorded LLM call."""
        row = self._row("SELECT request_json, response_text FROM llm_calls WHERE id = ?", (int(call_id),))
        if row is None:
            raise RunNotFoundError(f"run {self.root.name} has no LLM call {call_id}")
        request = json.loads(row["request_json"]) if row["request_json"] else {}
        return request.get("messages", []), row["response_text"]

    def spend(self, by: str | None = None) -> list[Spend]:
        """LLM calls, tokens and dollars in total (``by=None``) or grouped ``by="phase"`` or ``"model"``."""
        group = {None: "'total'", "phase": "phase", "model": "provider || ':' || model"}.get(by)
        if group is None:
            raise ValueError(f"spend(by={by!r}): use None, 'phase' or 'model'")
        ok = "error_type IS NULL AND cache_hit = 0"
        rows = self._rows(
            f"SELECT {group} AS k, SUM({ok}) AS calls, SUM(cache_hit) AS hits, "
            "SUM(error_type IS NOT NULL) AS failures, "
            f"SUM(CASE WHEN {ok} THEN input_tokens ELSE 0 END) AS tin, "
            f"SUM(CASE WHEN {ok} THEN output_tokens ELSE 0 END) AS tout, "
            f"SUM(CASE WHEN {ok} THEN cached_tokens ELSE 0 END) AS tcached, "
            "SUM(cost_usd) AS cost FROM llm_calls GROUP BY k ORDER BY cost DESC, k")
        return [Spend(r["k"], r["calls"] or 0, r["hits"] or 0, r["failures"] or 0, r["tin"] or 0, r["tout"] or 0,
                      r["tcached"] or 0, r["cost"] or 0.0) for r in rows]

    def total_cost_usd(self) -> float:
        row = self._row("SELECT COALESCE(SUM(cost_usd), 0) AS c, COUNT(*) AS n FROM llm_calls")
        return float(row["c"])

    # ------------------------------------------------------------ resume
    def resume_state(self) -> ResumeState:
        """Where an interrupted run stands: see :class:`ResumeState`."""
        beams = self.beams()
        cands = self.candidates()
        last = beams[-1].iteration if beams else -1
        baseline = self.baseline()
        beam = beams[-1].beam if beams else ([baseline.id] if baseline and baseline.correct else [])
        calls = self._row("SELECT COUNT(*) AS n, COALESCE(SUM(cost_usd), 0) AS c FROM llm_calls")
        return ResumeState(
            run=self.info, config=self.config(), last_iteration=last, beam=beam,
            pending=[c for c in cands if c.status == PENDING], evaluated=self.finished_sources(),
            partial=[c for c in cands if c.iteration > last and c.origin != "baseline"], best=self.best(),
            llm_cost_usd=float(calls["c"]), llm_calls=int(calls["n"]), candidates=cands)

    def counts(self) -> dict[str, int]:
        """Number of candidates, search evaluations and LLM calls."""
        row = self._row("SELECT (SELECT COUNT(*) FROM candidates) AS candidates, "
                        "(SELECT COUNT(*) FROM evaluations WHERE purpose = 'search') AS evaluations, "
                        "(SELECT COUNT(*) FROM llm_calls) AS llm_calls")
        return dict(row)


def _without(row: sqlite3.Row, *keys: str) -> dict:
    return {k: row[k] for k in row.keys() if k not in keys}


def run_root(path: str | Path) -> Path:
    """The run directory for ``path`` (the directory itself or its run.sqlite); it must hold a run.sqlite."""
    p = Path(path)
    if p.name == schema.DB_NAME:
        p = p.parent
    if not (p / schema.DB_NAME).is_file():
        raise RunNotFoundError(f"{p}: not a run directory (no {schema.DB_NAME} in it)")
    return p
