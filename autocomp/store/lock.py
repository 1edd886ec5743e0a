"""The write lock of a run directory: one writer at a time, detectable by readers."""

from __future__ import annotations

import os
from pathlib import Path

from autocomp.store.errors import RunLockedError

LOCK_NAME = "run.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None


def acquire_lock(root: Path) -> int | None:
    """Take the exclusive lock on ``root/run.lock`` (released by the OS if the process dies); returns its fd."""
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise RunLockedError(f"{root}: the run is open for writing by pid {holder}; wait for it to finish or "
                             "stop it first") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def release_lock(fd: int | None) -> None:
    """Release a lock taken with :func:`acquire_lock`."""
    if fd is None or fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def writer_alive(root: Path) -> bool:
    """True if some process holds the run's write lock (a 'running' run without one was killed)."""
    if fcntl is None or not (root / LOCK_NAME).exists():  # pragma: no cover
        return False
    fd = os.open(root / LOCK_NAME, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
