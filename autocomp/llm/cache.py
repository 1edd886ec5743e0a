"""Content-addressed store of completions in SQLite, so re-runs replay instead of paying again."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from autocomp.llm.types import Completion, Message

# Bump when the key's inputs change meaning, so old rows are never replayed wrongly.
KEY_VERSION = 1


def request_key(
    provider: str,
    model: str,
    messages: Sequence[Message],
    *,
    temperature: float | None,
    max_tokens: int,
    stop: Sequence[str] | None,
    sample_index: int,
) -> str:
    """sha256 over a canonical JSON of everything that determines the answer.

    ``sample_index`` keeps N samples of one prompt apart while letting a re-run
    replay sample k as sample k.
    """
    payload = {
        "v": KEY_VERSION,
        "provider": provider,
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        # float() so 0 and 0.0 hash alike.
        "temperature": None if temperature is None else float(temperature),
        "max_tokens": int(max_tokens),
        "stop": list(stop) if stop else None,
        "sample_index": int(sample_index),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A SQLite file (WAL mode) mapping request keys to completions. Safe across threads.

    Rows hold only the completion (text, token counts, original cost): no prompt,
    no credentials. Several processes may share one file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,"
                " completion TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            self._db.commit()

    def get(self, key: str) -> Completion | None:
        """The stored completion for ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT completion FROM responses WHERE key = ?", (key,)).fetchone()
        return Completion.model_validate_json(row[0]) if row else None

    def put(self, key: str, completion: Completion) -> None:
        """Store (or replace) the completion for ``key``."""
        data = completion.model_copy(update={"cache_hit": False}).model_dump_json()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, completion, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, completion.provider, completion.model, data, time.time()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"
