"""``RunStore``: the one writer of a run directory.

Every finished evaluation and LLM call is committed in its own transaction as
it completes, so a run killed at any point loses nothing that finished. SQLite
is the source of truth; the files under ``candidates/<id>/`` mirror it for
people and are rewritten from it when a crash left one missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from autocomp.sources import source_hash
from autocomp.store import schema
from autocomp.store.config import render_config
from autocomp.store.device_profiles import DEFAULT_MAX_MB, MIB, keep_device_profiles
from autocomp.store.errors import DuplicateEvaluationError, StoreError
from autocomp.store.files import TMP_PREFIX, append_jsonl, atomic_write_json, atomic_write_text, fsync_dir
from autocomp.store.lock import acquire_lock, release_lock
from autocomp.store.reader import (
    CALIBRATION_NAME,
    CANDIDATES_DIR,
    CONFIG_NAME,
    EVENTS_NAME,
    HW,
    PROBLEM_DIR,
    SEARCH,
    RunReader,
    eval_filename,
    run_root,
)
from autocomp.store.records import CORRECT, PENDING, RUN_STATUSES, Decision, Evaluation, ResumeState
from autocomp.store.results import OLD_NAMES

PROBLEM_FILES = ("problem.toml", "kernel.py", "reference.py")

def new_run_id(problem: str, now: float | None = None) -> str:
    """``YYYYMMDD-HHMMSS-<problem>-<4 hex>`` in UTC: sorts by creation time."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in problem)[:48] or "run"
    return f"{stamp}-{slug}-{secrets.token_hex(2)}"


def _as_dict(result: Any) -> dict:
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return json.loads(json.dumps(dict(result), default=str))
    raise TypeError(f"expected an EvalResult or a dict, got {type(result).__name__}")


def _evidence(result: Mapping) -> str | None:
    for key in ("evidence", *(old for old, new in OLD_NAMES.items() if new == "evidence")):
        if isinstance(result.get(key), str):
            return result[key]
    return None


def _autocomp_version() -> str | None:
    try:
        return version("autocomp")
    except PackageNotFoundError:
        return None


def _messages_markdown(prompt: str | Sequence[Mapping]) -> str:
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"## {m.get('role', '?')}\n\n{m.get('content', '')}" for m in prompt) + "\n"


class RunStore(RunReader):
    """Creates, writes and resumes one run directory ``runs/<run-id>/``.

    Holds an exclusive lock on ``run.lock`` while open, so two processes never
    write the same run. Thread-safe: ``record_llm_call`` may be called from the
    LLM service's worker threads.
    """

    def __init__(self, root: Path, conn, version: int, lock_fd: int | None, clock: Callable[[], float]):
        super().__init__(root, conn, version)
        self._lock_fd = lock_fd
        self._clock = clock
        # The largest Neuron Explorer capture kept in profiles/ (the run sets it from [evaluation]
        # hw_profile_max_mb): larger ones are dropped with a notice, never the evaluation.
        self.profile_max_bytes = int(DEFAULT_MAX_MB * MIB)

    # ------------------------------------------------------------ create / open
    @classmethod
    def create(cls, runs_dir: str | Path, problem: Any, config: Any = None, *, seed: int | None = None,
               target: str | None = None, run_id: str | None = None, calibration: str | None = None,
               clock: Callable[[], float] = time.time) -> RunStore:
        """Create ``runs_dir/<run-id>/`` for ``problem`` (a :class:`Problem` or a problem name).

        Writes config.toml without secrets, a snapshot of the problem files and, given its text, a copy of
        the cost-model ``calibration`` (calibration.toml, which a resumed run uses); the directory appears
        under its final name only once it is complete.
        """
        runs_dir = Path(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        name = problem if isinstance(problem, str) else problem.name
        now = clock()
        run_id = run_id or new_run_id(name, now)
        final = runs_dir / run_id
        if final.exists():
            raise StoreError(f"{final}: already exists; refusing to overwrite it (pick another run id)")
        staging = runs_dir / f".creating-{run_id}"
        if staging.exists():
            shutil.rmtree(staging)
        (staging / CANDIDATES_DIR).mkdir(parents=True)
        text, removed = render_config(config)
        atomic_write_text(staging / CONFIG_NAME, text)
        if calibration is not None:
            atomic_write_text(staging / CALIBRATION_NAME, calibration)
        root = getattr(problem, "root", None)
        if root is not None:
            # Every kernel of the problem, variants included: a variant run reloads its own from the snapshot.
            for fname in getattr(problem, "files", PROBLEM_FILES):
                if (Path(root) / fname).is_file():
                    (staging / PROBLEM_DIR).mkdir(exist_ok=True)
                    atomic_write_text(staging / PROBLEM_DIR / fname, (Path(root) / fname).read_text())
        spec_target = getattr(getattr(problem, "spec", None), "target", None)
        conn = schema.create_database(staging / schema.DB_NAME)
        try:
            conn.execute(
                "INSERT INTO run (id, run_id, problem, problem_hash, problem_path, target, seed, status, "
                "autocomp_version, created, updated) VALUES (1, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, name, getattr(problem, "content_hash", None), str(root) if root is not None else None,
                 target or spec_target, seed, _autocomp_version(), now, now))
        finally:
            conn.close()
        append_jsonl(staging / EVENTS_NAME, {"t": now, "kind": "run_created", "run_id": run_id, "problem": name,
                                             **({"config_secrets_removed": removed} if removed else {})})
        os.rename(staging, final)
        fsync_dir(runs_dir)
        return cls.open(final, clock=clock)

    @classmethod
    def open(cls, path: str | Path, *, clock: Callable[[], float] = time.time) -> RunStore:
        """Open an existing run for writing: checks integrity and version, migrates, repairs mirror files.

        A corrupt database or one from a newer autocomp raises and is left untouched.
        """
        root = run_root(path)
        db = root / schema.DB_NAME
        lock_fd = acquire_lock(root)
        try:
            schema.probe(db)  # read-only: a refused database is never written, not even checkpointed
            conn = schema.connect(db, readonly=False)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                version = schema.migrate(conn, db)
                store = cls(root, conn, version, lock_fd, clock)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            release_lock(lock_fd)
            raise
        store._repair_files()
        return store

    @classmethod
    def resume(cls, path: str | Path, *, clock: Callable[[], float] = time.time) -> tuple[RunStore, ResumeState]:
        """Open an interrupted run for writing, mark it running again and return where it stands."""
        store = cls.open(path, clock=clock)
        store.set_status("running")
        state = store.resume_state()
        store.event("run_resumed", last_iteration=state.last_iteration, pending=[c.id for c in state.pending])
        return store, state

    def close(self) -> None:
        super().close()
        if self._lock_fd is not None:
            release_lock(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------ transactions
    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            if self._conn is None:
                raise StoreError(f"{self.root}: the run store is closed")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _touch(self, conn) -> None:
        conn.execute("UPDATE run SET updated = ? WHERE id = 1", (self._clock(),))

    # ------------------------------------------------------------ writes
    def event(self, kind: str, **data: Any) -> None:
        """Append one event to events.jsonl (flushed and fsynced before returning)."""
        with self._lock:
            append_jsonl(self.root / EVENTS_NAME, {"t": self._clock(), "kind": kind, **data})

    def set_status(self, status: str, reason: str | None = None) -> None:
        """Mark the run running, finished, interrupted or failed (with an optional reason)."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r}: use one of {', '.join(RUN_STATUSES)}")
        with self._tx() as conn:
            conn.execute("UPDATE run SET status = ?, status_reason = ?, updated = ? WHERE id = 1",
                         (status, reason, self._clock()))
        self.event("status", status=status, **({"reason": reason} if reason else {}))

    def add_candidate(self, source: str, *, origin: str, iteration: int, parent_id: int | None = None,
                      plan: str | None = None, prompt: str | Sequence[Mapping] | None = None,
                      response: str | None = None, llm_call_id: int | None = None,
                      meta: Mapping[str, Any] | None = None) -> int:
        """Store a new kernel (not yet evaluated) and its files; returns its id.

        ``origin`` says where it came from (baseline, llm, knob, repair, ...); ``prompt``
        and ``response`` are the LLM exchange that produced it, written as markdown.
        """
        if not isinstance(source, str):
            raise TypeError(f"candidate source must be a str, got {type(source).__name__}")
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO candidates (parent_id, iteration, origin, plan, source, source_hash, status, "
                "llm_call_id, meta_json, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (parent_id, int(iteration), origin, plan, source, source_hash(source), PENDING, llm_call_id,
                 json.dumps(dict(meta), default=str) if meta else None, self._clock()))
            cand_id = int(cur.lastrowid)
            # Written inside the transaction: if we crash before COMMIT the id is reused and the files overwritten.
            d = self.candidate_dir(cand_id)
            atomic_write_text(d / "kernel.py", source)
            if prompt is not None:
                atomic_write_text(d / "prompt.md", _messages_markdown(prompt))
            if response is not None:
                atomic_write_text(d / "response.md", response)
            slot = (meta or {}).get("slot")
            if slot:
                conn.execute("UPDATE decisions SET candidate_id = ? WHERE key = ? AND candidate_id IS NULL",
                             (cand_id, str(slot)))
            if origin == "baseline":
                conn.execute("UPDATE run SET baseline_candidate = COALESCE(baseline_candidate, ?) WHERE id = 1",
                             (cand_id,))
            self._touch(conn)
        self.event("candidate_added", candidate=cand_id, parent=parent_id, origin=origin, iteration=int(iteration))
        return cand_id

    def record_evaluation(self, candidate_id: int, result: Any, *, purpose: str = SEARCH,
                          profile: Any = None, replace: bool = False) -> Evaluation:
        """Commit one finished evaluation (an ``EvalResult`` or its dict) of ``candidate_id``.

        The ``search`` evaluation sets the candidate's status, latency, speedup and
        evidence, and the run's baseline and best. Other purposes (re-validation,
        hardware re-measurement) are kept beside it. Recording a purpose twice raises
        :class:`DuplicateEvaluationError` unless ``replace``. ``profile`` (a cost-model
        ``Profile`` or a profile record) is written to ``profile.json``.
        """
        data = _as_dict(result)
        status = data.get("status")
        if not isinstance(status, str) or not status:
            raise ValueError(f"evaluation of candidate {candidate_id} has no status: {str(data)[:200]}")
        latency = data.get("latency_us")
        latency = float(latency) if isinstance(latency, (int, float)) else None
        evidence = _evidence(data)
        self.candidate(candidate_id)
        if not replace:
            self._refuse_duplicate(candidate_id, purpose)
        if profile is not None:  # before the commit: a crash in between leaves a profile, never a bare result
            self.record_profile(candidate_id, profile)
        if data.get("device_profiles"):  # before the commit too: the record then names files that are there
            self._keep_device_profiles(candidate_id, purpose, data)
        now = self._clock()
        with self._tx() as conn:
            exists = conn.execute("SELECT id FROM evaluations WHERE candidate_id = ? AND purpose = ?",
                                  (int(candidate_id), purpose)).fetchone()
            if exists and not replace:
                self._refuse_duplicate(candidate_id, purpose)
            if exists:
                conn.execute("DELETE FROM evaluations WHERE id = ?", (exists["id"],))
            cur = conn.execute(
                "INSERT INTO evaluations (candidate_id, purpose, status, latency_us, evidence, target, reason, "
                "result_json, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(candidate_id), purpose, status, latency, evidence, data.get("target"),
                 data.get("reason"), json.dumps(data, sort_keys=True), now))
            if purpose == SEARCH:
                conn.execute("UPDATE candidates SET status = ?, latency_us = ?, evidence = ? WHERE id = ?",
                             (status, latency, evidence, int(candidate_id)))
                self._update_baseline_and_best(conn, int(candidate_id))
            elif purpose == HW:
                self._update_best(conn)
            self._touch(conn)
            row = conn.execute("SELECT * FROM evaluations WHERE id = ?", (cur.lastrowid,)).fetchone()
        evaluation = Evaluation.from_row(row)
        atomic_write_json(self.candidate_dir(candidate_id) / eval_filename(purpose), evaluation.result)
        self.event("evaluation_recorded", candidate=int(candidate_id), purpose=purpose, status=status,
                   latency_us=latency)
        return evaluation

    def _keep_device_profiles(self, candidate_id: int, purpose: str, data: dict) -> None:
        """Move the evaluation's staged Neuron Explorer captures into profiles/ and point its record at them; a
        capture that cannot be kept leaves a note and a notice, and the evaluation is recorded all the same."""
        try:
            data["device_profiles"], notices = keep_device_profiles(self.root, candidate_id, purpose,
                                                                    data["device_profiles"], self.profile_max_bytes)
        except Exception as e:  # noqa: BLE001 - a profile is never worth an evaluation
            data["device_profiles"] = [{"note": f"not kept: {type(e).__name__}: {e}"[:300]}]
            notices = [data["device_profiles"][0]["note"]]
        for notice in notices:
            self.event("notice", message=f"candidate {candidate_id} ({purpose}): {notice}")

    def _refuse_duplicate(self, candidate_id: int, purpose: str) -> None:
        if self.evaluation(candidate_id, purpose) is not None:
            raise DuplicateEvaluationError(
                f"candidate {candidate_id} of run {self.root.name} already has a {purpose!r} evaluation; "
                "check RunStore.finished_sources() before evaluating, or pass replace=True")

    def _update_baseline_and_best(self, conn, candidate_id: int) -> None:
        run = conn.execute("SELECT baseline_candidate, baseline_latency_us FROM run WHERE id = 1").fetchone()
        cand = conn.execute("SELECT origin, status, latency_us FROM candidates WHERE id = ?",
                            (candidate_id,)).fetchone()
        base_latency = run["baseline_latency_us"]
        if cand["origin"] == "baseline" and run["baseline_candidate"] in (None, candidate_id):
            if cand["status"] == CORRECT and cand["latency_us"]:
                base_latency = cand["latency_us"]
                conn.execute("UPDATE run SET baseline_candidate = ?, baseline_latency_us = ? WHERE id = 1",
                             (candidate_id, base_latency))
                # Candidates evaluated before the baseline get their speedup now.
                conn.execute("UPDATE candidates SET speedup = ? / latency_us WHERE status = ? AND latency_us > 0",
                             (base_latency, CORRECT))
        if base_latency and cand["status"] == CORRECT and cand["latency_us"]:
            conn.execute("UPDATE candidates SET speedup = ? WHERE id = ?",
                         (base_latency / cand["latency_us"], candidate_id))
        self._update_best(conn)

    @staticmethod
    def _update_best(conn) -> None:
        """The run's best: the fastest hardware measurement when the run has any (a two-tier run: a measurement
        outranks every estimate, docs/evaluation.md#two-tier-search), else the fastest search evaluation."""
        best = conn.execute("SELECT candidate_id AS id FROM evaluations WHERE purpose = ? AND status = ? AND "
                            "latency_us > 0 ORDER BY latency_us, candidate_id LIMIT 1", (HW, CORRECT)).fetchone()
        if best is None:
            best = conn.execute("SELECT id FROM candidates WHERE status = ? AND latency_us IS NOT NULL "
                                "ORDER BY latency_us, id LIMIT 1", (CORRECT,)).fetchone()
        conn.execute("UPDATE run SET best_candidate = ? WHERE id = 1", (best["id"] if best else None,))

    def record_profile(self, candidate_id: int, profile: Any) -> None:
        """Write ``candidates/<id>/profile.json`` (the one writer of it) from a cost-model ``Profile`` or a record
        made by ``autocomp.store.profiles``."""
        from autocomp.perf.profile import Profile
        from autocomp.store.profiles import profile_record

        if isinstance(profile, Profile):
            record = profile_record(profile)
        elif isinstance(profile, Mapping):
            record = dict(profile)
        else:
            raise TypeError(f"profile of candidate {candidate_id}: expected an autocomp.perf.Profile or a profile "
                            f"record dict (autocomp.store.profiles), got {type(profile).__name__}")
        atomic_write_json(self.candidate_dir(candidate_id) / "profile.json", record)

    def record_llm_call(self, record: Any, *, candidate_id: int | None = None) -> int:
        """Commit one LLM call (an ``autocomp.llm.CallRecord`` or its dict); usable as ``LLMService(on_call=...)``."""
        data = record.model_dump(mode="json") if hasattr(record, "model_dump") else dict(record)
        comp = data.get("completion") or {}
        error = data.get("error")
        if error:
            from autocomp.llm.redact import scrub

            error = scrub(str(error))
        request = {k: data.get(k) for k in ("messages", "temperature", "max_tokens", "sample_index")}
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO llm_calls (phase, sample_index, provider, model, input_tokens, output_tokens, "
                "cached_tokens, cache_write_tokens, cost_usd, latency_s, cache_hit, attempts, error_type, error, "
                "cache_key, request_json, response_text, started, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (data.get("phase") or "unknown", int(data.get("sample_index") or 0),
                 comp.get("provider") or data.get("provider") or "unknown",
                 comp.get("model") or data.get("model") or "unknown",
                 int(comp.get("input_tokens") or 0), int(comp.get("output_tokens") or 0),
                 int(comp.get("cached_tokens") or 0), int(comp.get("cache_write_tokens") or 0),
                 float(comp.get("cost_usd") or 0.0), float(comp.get("latency_s") or 0.0),
                 int(bool(comp.get("cache_hit"))), int(data.get("attempts") or 0), data.get("error_type"), error,
                 data.get("cache_key"), json.dumps(request, default=str), comp.get("text"),
                 data.get("started_at"), self._clock()))
            if candidate_id is not None:
                conn.execute("UPDATE candidates SET llm_call_id = ? WHERE id = ?", (cur.lastrowid, candidate_id))
            self._touch(conn)
        return int(cur.lastrowid)

    def record_decisions(self, iteration: int,
                         entries: Sequence[tuple[str, str, Mapping[str, Any], int | None]]) -> list[Decision]:
        """Commit search decisions ``(key, kind, data, parent_id)`` in one transaction, before acting on them.

        A key recorded before keeps its first record, which is returned instead: a resumed run replays
        what was decided, it never decides again. Returns the records in the order of ``entries``.
        """
        out: list[Decision] = []
        with self._tx() as conn:
            now = self._clock()
            for key, kind, data, parent_id in entries:
                row = conn.execute("SELECT * FROM decisions WHERE key = ?", (str(key),)).fetchone()
                if row is None:
                    cur = conn.execute(
                        "INSERT INTO decisions (iteration, key, kind, parent_id, data_json, created) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (int(iteration), str(key), kind, parent_id, json.dumps(dict(data), sort_keys=True), now))
                    row = conn.execute("SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)).fetchone()
                out.append(Decision.from_row(row))
            self._touch(conn)
        return out

    def link_decision(self, key: str, candidate_id: int) -> None:
        """Note the candidate a decision resolved to when it made none itself (a duplicate kernel)."""
        with self._tx() as conn:
            conn.execute("UPDATE decisions SET candidate_id = ? WHERE key = ? AND candidate_id IS NULL",
                         (int(candidate_id), str(key)))

    def record_checkpoint(self, iteration: int, state: Mapping[str, Any]) -> None:
        """Checkpoint: iteration ``iteration`` is complete. ``state`` is the search strategy's, ``{"kind": ...,
        "parents": [ids], ...}`` (JSON-able): the parents of the next iteration, and what else it resumes from."""
        if not isinstance(state.get("kind"), str) or not state["kind"]:
            raise ValueError(f"checkpoint of iteration {iteration} names no strategy kind: {str(state)[:200]}")
        ids = [int(c) for c in state.get("parents") or []]
        rest = {k: v for k, v in state.items() if k != "parents"}
        with self._tx() as conn:
            best = conn.execute("SELECT best_candidate FROM run WHERE id = 1").fetchone()["best_candidate"]
            conn.execute("INSERT OR REPLACE INTO iterations (iteration, beam_json, best_candidate, completed, "
                         "state_json) VALUES (?, ?, ?, ?, ?)",
                         (int(iteration), json.dumps(ids), best, self._clock(), json.dumps(rest, sort_keys=True)))
            self._touch(conn)
        self.event("iteration_done", iteration=int(iteration), beam=ids, best=best)

    def record_beam(self, iteration: int, beam: Sequence[int]) -> None:
        """Checkpoint of beam search: iteration ``iteration`` is complete and ``beam`` are the parents of the next."""
        self.record_checkpoint(iteration, {"kind": "beam", "parents": list(beam)})

    # ------------------------------------------------------------ crash repair
    def _repair_files(self) -> None:
        """Remove temp files a crash left behind and rewrite mirror files that never got written."""
        for tmp in list(self.root.glob(TMP_PREFIX + "*")) + list(self.root.glob(f"{CANDIDATES_DIR}/*/{TMP_PREFIX}*")):
            tmp.unlink(missing_ok=True)
        for row in self._rows("SELECT id, source FROM candidates"):
            kernel = self.candidate_dir(row["id"]) / "kernel.py"
            if not kernel.is_file():
                atomic_write_text(kernel, row["source"])
        for ev in self.evaluations():
            path = self.candidate_dir(ev.candidate_id) / eval_filename(ev.purpose)
            if not path.is_file():
                atomic_write_json(path, ev.result)
