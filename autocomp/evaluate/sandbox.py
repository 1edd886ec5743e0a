"""Running one worker process: fresh spawn, own session, scrubbed environment, wall-clock kill, no orphans.

Isolation, strongest available first:
- ``namespaces``: the worker runs under ``unshare --pid --net --kill-child``: no
  network, and when the worker dies the kernel kills every process it started,
  even ones that called ``setsid`` to leave the process group.
- ``session``: own session and process group (``killpg`` on timeout); processes
  that escape the group re-parent to this process (Linux child subreaper), which
  kills and reaps them.
Resource limits, the private working directory and dropping root privileges are
applied by the worker itself before it touches candidate code (worker.py).
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SANDBOX_MARKER = "AUTOCOMP_SANDBOX"
# Variables a worker may inherit; everything else (API keys, tokens, cloud credentials) is dropped.
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "NEURON_RT_VISIBLE_CORES", "NEURON_RT_ROOT_COMM_ID",
             "NEURON_PLATFORM_TARGET_OVERRIDE", "NEURON_CC_FLAGS")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_UNSHARE = ("--pid", "--fork", "--kill-child", "--net")
_live: set[int] = set()  # worker pids this process is waiting on (never reaped by the escapee sweep)
_sandbox_groups: set[int] = set()
_lock = threading.Lock()


@dataclass
class Outcome:
    """How a worker process ended, as seen from outside."""

    returncode: int | None
    timed_out: bool
    wall_s: float
    stdout_tail: str
    stderr_tail: str
    pgid: int
    leftovers: int = 0  # processes that had to be killed after the worker ended

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None


def child_env(home: str, extra: dict[str, str] | None = None, pythonpath: list[str] | None = None) -> dict[str, str]:
    """The worker's whole environment: an allow-list of the parent's, HOME in the sandbox, one thread per worker."""
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    for var in _THREAD_VARS:
        env[var] = "1"
    env["HOME"] = home
    env["TMPDIR"] = home
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env[SANDBOX_MARKER] = "1"
    paths = [str(Path(__file__).resolve().parents[2])] + list(pythonpath or [])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


@lru_cache(maxsize=1)
def namespace_prefix() -> tuple[str, ...] | None:
    """The ``unshare`` command line that isolates a worker here, or None when namespaces are unavailable."""
    if sys.platform != "linux":
        return None
    candidates = [("unshare", *_UNSHARE)] if os.geteuid() == 0 else []
    candidates.append(("unshare", "--user", "--map-root-user", *_UNSHARE))
    for prefix in candidates:
        try:
            r = subprocess.run([*prefix, "--", "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        if r.returncode == 0:
            return prefix
    return None


@lru_cache(maxsize=1)
def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process so they can be found and reaped (Linux)."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def resolve_isolation(mode: str) -> str:
    """``auto`` -> ``namespaces`` when available, else ``session``."""
    if mode not in ("auto", "namespaces", "session"):
        raise ValueError(f"isolation {mode!r}: use auto, namespaces or session")
    if mode == "auto":
        return "namespaces" if namespace_prefix() is not None else "session"
    if mode == "namespaces" and namespace_prefix() is None:
        raise RuntimeError("isolation='namespaces' needs a working `unshare --pid --net` (root or user namespaces)")
    return mode


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[2])


def _marked(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"{SANDBOX_MARKER}=1".encode() in f.read().split(b"\0")
    except OSError:
        return False


def sweep_orphans() -> int:
    """Kill and reap sandbox processes that re-parented to us (their worker is gone); returns how many."""
    if not os.path.isdir("/proc"):
        return 0
    me = os.getpid()
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        with _lock:
            if pid in _live:
                continue
            groups = set(_sandbox_groups)
        stat = _proc_stat(pid)
        if stat is None or stat[0] != me or not (stat[1] in groups or _marked(pid)):
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        count += 1
    return count


def _kill_group(pgid: int, deadline_s: float = 5.0) -> int:
    """SIGKILL the whole group and wait until it no longer exists."""
    killed = 0
    end = time.monotonic() + deadline_s
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            break
        killed += sweep_orphans()
        if not group_alive(pgid) or time.monotonic() > end:
            break
        time.sleep(0.005)
    return killed


@dataclass
class Worker:
    """A spawned worker process waiting for the word to start its job."""

    proc: subprocess.Popen
    job_dir: Path

    @property
    def pgid(self) -> int:
        return self.proc.pid


def live_workers() -> set[int]:
    """Pids of workers spawned by this process and not yet finished (spares included)."""
    with _lock:
        return set(_live)


def spawn_worker(job_dir: Path, env: dict[str, str], isolation: str = "session") -> Worker:
    """Start ``python -m autocomp.evaluate.worker JOB_DIR``: it imports its backend, then waits on stdin."""
    cmd = [sys.executable, "-B", "-m", "autocomp.evaluate.worker", str(job_dir)]
    if isolation == "namespaces":
        cmd = [*namespace_prefix(), "--", *cmd]
    become_subreaper()  # so the worker and its leftovers re-parent to us and are reaped at once
    with open(job_dir / "stdout.log", "wb") as out, open(job_dir / "stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=str(job_dir),
                                start_new_session=True, close_fds=True)
    with _lock:
        _live.add(proc.pid)
        _sandbox_groups.add(proc.pid)
    return Worker(proc, job_dir)


def _end(worker: Worker) -> int:
    """Kill the worker's group, reap it, and wait until nothing of it is left; returns leftovers killed."""
    try:
        os.killpg(worker.pgid, signal.SIGKILL)  # the worker and anything it left in its group
    except ProcessLookupError:
        pass
    worker.proc.wait()
    with _lock:
        _live.discard(worker.proc.pid)
    leftovers = _kill_group(worker.pgid)
    with _lock:
        _sandbox_groups.discard(worker.pgid)
    return leftovers


def discard_worker(worker: Worker) -> None:
    """End a worker that never got a job."""
    _end(worker)


def _wait(proc: subprocess.Popen, timeout_s: float) -> bool:
    """Wait until the worker exits or ``timeout_s`` passes; True when it exited. Wakes the moment it exits
    (a pidfd): Popen.wait(timeout) polls, up to 50 ms late, which is 5% of a one-second evaluation."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: poll
        try:
            proc.wait(timeout=timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        exited, _, _ = select.select([fd], [], [], timeout_s)
    finally:
        os.close(fd)
    if not exited:
        return False
    proc.wait()
    return True


def finish_worker(worker: Worker, timeout_s: float) -> Outcome:
    """Tell the worker its job is ready, wait up to ``timeout_s`` (wall clock), and leave nothing running."""
    start = time.monotonic()
    timed_out = False
    try:
        try:
            worker.proc.stdin.write(b"go\n")
            worker.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # it died while waiting; its exit status says how
        timed_out = not _wait(worker.proc, timeout_s)
    finally:
        leftovers = _end(worker)
    root = worker.job_dir
    return Outcome(returncode=None if timed_out else worker.proc.returncode, timed_out=timed_out,
                   wall_s=time.monotonic() - start, stdout_tail=_tail(root / "stdout.log"),
                   stderr_tail=_tail(root / "stderr.log"), pgid=worker.pgid, leftovers=leftovers)


def run_worker(job_dir: Path, timeout_s: float, env: dict[str, str], isolation: str = "session") -> Outcome:
    """Spawn a worker for a job that is already written and run it to the end."""
    return finish_worker(spawn_worker(job_dir, env, isolation), timeout_s)
