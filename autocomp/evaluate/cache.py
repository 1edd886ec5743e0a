"""Content-addressed caches: evaluation results (SQLite) and reference outputs (.npy files).

A key hashes everything that can change the answer: the candidate source's digest
(``autocomp.sources``: comments and layout do not count, anything that can change
behaviour does), the problem's content hash, backend, target, tool version and
seeds. A stale hit would be a wrong result, so nothing else may feed a verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from autocomp.evaluate.result import EvalResult


def default_cache_dir() -> Path:
    env = os.environ.get("AUTOCOMP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "autocomp"


def eval_key(source_digest: str, problem_hash: str, backend: str, target: str, tool_version: str,
             seeds: list[int], settings: str = "") -> str:
    payload = json.dumps([source_digest, problem_hash, backend, target, tool_version, list(seeds), settings])
    return hashlib.sha256(payload.encode()).hexdigest()


class EvalCache:
    """EvalResults by key, in one SQLite file (WAL mode, safe across threads of one process)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_cache_dir() / "evaluations.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS evaluations (key TEXT PRIMARY KEY, result TEXT NOT NULL, "
                             "created REAL DEFAULT (julianday('now')))")
            self._db.commit()

    def get(self, key: str) -> EvalResult | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM evaluations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return EvalResult.model_validate_json(row[0])
        except ValueError:
            return None  # written by an older schema: evaluate again

    def put(self, key: str, result: EvalResult) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO evaluations (key, result) VALUES (?, ?)",
                             (key, result.model_dump_json()))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ReferenceStore:
    """Reference outputs per (problem content hash, seed, tool version), in memory and as .npy files."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir() / "references"
        self._memory: dict[tuple[str, int, str], tuple[np.ndarray, ...]] = {}
        self._lock = threading.Lock()

    def _dir(self, problem_hash: str, seed: int, version: str) -> Path:
        tag = hashlib.sha256(version.encode()).hexdigest()[:12]
        return self.root / problem_hash / f"seed{seed}-{tag}"

    def get(self, problem, seed: int, version: str) -> tuple[np.ndarray, ...]:
        """The problem's reference outputs for ``seed`` (computed from pristine inputs on a miss)."""
        key = (problem.content_hash, seed, version)
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        outs = self._load(self._dir(*key))
        if outs is None:
            outs = tuple(np.asarray(o) for o in problem.reference_outputs(seed))
            self._save(self._dir(*key), outs)
        with self._lock:
            self._memory[key] = outs
        return outs

    def _load(self, d: Path) -> tuple[np.ndarray, ...] | None:
        manifest = d / "manifest.json"
        if not manifest.is_file():
            return None
        try:
            count = int(json.loads(manifest.read_text())["outputs"])
            return tuple(np.load(d / f"out{i}.npy", allow_pickle=False) for i in range(count))
        except (OSError, ValueError, KeyError):
            return None

    def _save(self, d: Path, outs: tuple[np.ndarray, ...]) -> None:
        if any(o.dtype.kind not in "biuf" for o in outs):
            return  # ml_dtypes references stay in memory only
        try:
            d.mkdir(parents=True, exist_ok=True)
            for i, o in enumerate(outs):
                np.save(d / f"out{i}.npy", o, allow_pickle=False)
            (d / "manifest.json").write_text(json.dumps({"outputs": len(outs)}))
        except OSError:
            pass  # a read-only cache dir only costs recomputation
