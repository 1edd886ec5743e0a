"""Worker processes spawned ahead of need.

Starting Python and importing numpy, the simulator and the cost model takes a
few hundred milliseconds. Spares are spawned while other candidates run, so a
candidate finds a worker already waiting. A spare is still a fresh process: it
has never run candidate code, and each worker runs exactly one candidate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from autocomp.evaluate.jobs import JobDir
from autocomp.evaluate.sandbox import Worker, discard_worker

Spawner = Callable[[int], tuple[JobDir, Worker]]


class WorkerPool:
    """Keeps up to ``spares`` idle workers ready; ``take`` hands one out (or spawns one) and refills."""

    def __init__(self, spawn: Spawner, spares: int):
        self._spawn = spawn
        self._spares = spares
        self._ready: list[tuple[JobDir, Worker]] = []
        self._pending = 0
        self._closed = False
        self._lock = threading.Lock()

    def take(self, slot: int = 0) -> tuple[JobDir, Worker]:
        """A worker for slot ``slot``; spares are generic, so only pools without slot-specific setup keep any."""
        item = None
        with self._lock:
            while self._ready and item is None:
                candidate = self._ready.pop(0)
                if candidate[1].proc.poll() is None:
                    item = candidate
                else:
                    self._drop(candidate)
        if item is None:
            item = self._spawn(slot)
        self._refill()
        return item

    def wait_ready(self, timeout_s: float = 30.0) -> bool:
        """Spawn the missing spares and wait until they are all ready (for benchmarks and warm starts)."""
        for _ in range(self._spares):
            self._refill()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                if len(self._ready) >= self._spares or self._closed:
                    return True
            time.sleep(0.01)
        return False

    def _refill(self) -> None:
        with self._lock:
            if self._closed or len(self._ready) + self._pending >= self._spares:
                return
            self._pending += 1
        threading.Thread(target=self._add, name="autocomp-spawn", daemon=True).start()

    def _add(self) -> None:
        try:
            item = self._spawn(0)
        except Exception:
            item = None  # the next take() spawns in the foreground and reports the error
        with self._lock:
            self._pending -= 1
            if item is not None and not self._closed:
                self._ready.append(item)
                item = None
        if item is not None:
            self._drop(item)

    @staticmethod
    def _drop(item: tuple[JobDir, Worker]) -> None:
        job_dir, worker = item
        discard_worker(worker)
        job_dir.cleanup()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        for item in ready:
            self._drop(item)
