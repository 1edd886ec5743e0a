"""Running one worker process: fresh spawn, sandboxed, scrubbed environment, wall-clock kill, no orphans.

The sandbox itself (bubblewrap, or ``unshare`` plus confine.py, or none) is chosen and laid out by
isolation.py and fsview.py. This module starts the worker in it and makes sure nothing of it outlives the
evaluation:
- on time-out or when the evaluator is done with it, the pid namespace's init is killed (the kernel then kills
  everything in the namespace) and the launcher with its process group;
- when this process dies, even by SIGKILL, the launcher gets SIGKILL from the kernel (PR_SET_PDEATHSIG through
  bwrap's ``--die-with-parent`` or ``setpriv --pdeathsig``), and with it the pid namespace. The parent-death
  signal fires when the *thread* that started a process ends, so every worker is started by one long-lived
  thread (``_Launcher``), never by the short-lived threads that spawn spares;
- without namespaces (``none``), the worker's own session and process group are killed, and processes that
  escaped them re-parent to this process (child subreaper), which kills and reaps them.
Resource limits and the last steps of privilege separation are applied by the worker itself before it touches
candidate code (worker.py).
"""

from __future__ import annotations

import ctypes
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from autocomp.evaluate import isolation as isolation_modes
from autocomp.evaluate.fsview import Mount

SANDBOX_MARKER = "AUTOCOMP_SANDBOX"
PARENT_VAR = "AUTOCOMP_PARENT_PID"  # without namespaces: the evaluator's pid, for the worker's parent-death check
# Variables a worker may inherit; everything else (API keys, tokens, cloud credentials) is dropped.
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "NEURON_RT_VISIBLE_CORES", "NEURON_RT_ROOT_COMM_ID",
             "NEURON_PLATFORM_TARGET_OVERRIDE", "NEURON_CC_FLAGS")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
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
def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process so they can be found and reaped (Linux)."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


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

    proc: subprocess.Popen  # the launcher (bwrap, or unshare), or the worker itself without namespaces
    job_dir: Path
    isolation: str = "none"
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def pgid(self) -> int:
        return self.proc.pid


def live_workers() -> set[int]:
    """Pids of workers spawned by this process and not yet finished (spares included)."""
    with _lock:
        return set(_live)


class _Launcher:
    """Starts every worker process from one thread that lives as long as this process.

    PR_SET_PDEATHSIG (bwrap --die-with-parent, setpriv --pdeathsig) fires when the thread that started the
    process exits, not the process: spares started from a short-lived thread would die with that thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue | None = None
        self._owner = 0

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        done: Future = Future()
        with self._lock:
            if self._jobs is None or self._owner != os.getpid():  # first use, or a forked copy of this process
                self._jobs, self._owner = queue.SimpleQueue(), os.getpid()
                threading.Thread(target=self._serve, args=(self._jobs,), name="autocomp-launcher",
                                 daemon=True).start()
            self._jobs.put((argv, kwargs, done))
        return done.result()

    @staticmethod
    def _serve(jobs: queue.SimpleQueue) -> None:
        while True:
            argv, kwargs, done = jobs.get()
            try:
                proc = subprocess.Popen(argv, **kwargs)
                with _lock:  # live at once: the orphan sweep must never take a worker being handed over for one
                    _live.add(proc.pid)
                    _sandbox_groups.add(proc.pid)
                done.set_result(proc)
            except BaseException as e:  # noqa: BLE001 - delivered to the thread that asked
                done.set_exception(e)


_launcher = _Launcher()


def spawn_worker(job_dir: Path, env: dict[str, str], isolation: str = "none", mounts: list[Mount] | None = None,
                 run_as: tuple[int, int] | None = None) -> Worker:
    """Start ``python -m autocomp.evaluate.worker JOB_DIR`` in the sandbox ``isolation`` (isolation.py) with the
    filesystem view ``mounts`` (fsview.py); it imports its backend, then waits on stdin."""
    cmd = [sys.executable, "-B", "-m", "autocomp.evaluate.worker", str(job_dir)]
    if isolation == "none":
        env = {**env, PARENT_VAR: str(os.getpid())}  # the worker re-arms its parent-death signal against it
    argv, fds = isolation_modes.command(isolation, mounts or [], env, str(job_dir), run_as, cmd)
    become_subreaper()  # so the worker and its leftovers re-parent to us and are reaped at once
    with open(job_dir / "stdout.log", "wb") as out, open(job_dir / "stderr.log", "wb") as err:
        proc = _launcher.popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=str(job_dir),
                               start_new_session=True, close_fds=True, pass_fds=fds)
    return Worker(proc, job_dir, isolation)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


def _kill_namespace(launcher: int) -> list[int]:
    """SIGKILL the init of the launcher's pid namespace (the kernel then kills everything in it); returns pidfds
    that become readable once each init, and so its whole namespace, is gone."""
    fds = []
    for pid in _children(launcher):
        try:
            fds.append(os.pidfd_open(pid))
            os.kill(pid, signal.SIGKILL)
        except (AttributeError, OSError):
            pass
    return fds


def _await_exit(pidfds: list[int], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    for fd in pidfds:
        try:
            select.select([fd], [], [], max(0.0, end - time.monotonic()))
        finally:
            os.close(fd)


def _end(worker: Worker) -> int:
    """Kill the worker's namespace and group, reap it, and wait until nothing of it is left; returns leftovers
    killed."""
    with _lock:
        ending = worker.ended.is_set()
        worker.ended.set()
    if ending:  # another thread (an interrupted evaluation's clean-up) is ending it
        worker.proc.wait()
        return 0
    inits = _kill_namespace(worker.proc.pid) if worker.isolation != "none" else []
    try:
        os.killpg(worker.pgid, signal.SIGKILL)  # the launcher or worker and anything it left in its group
    except ProcessLookupError:
        pass
    worker.proc.wait()
    _await_exit(inits, 10.0)
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
    return Outcome(returncode=None if timed_out else _worker_status(worker), timed_out=timed_out,
                   wall_s=time.monotonic() - start, stdout_tail=_tail(root / "stdout.log"),
                   stderr_tail=_tail(root / "stderr.log"), pgid=worker.pgid, leftovers=leftovers)


def _worker_status(worker: Worker) -> int:
    """The worker's exit status. bwrap and confine.py (pid-namespace inits, which cannot die by a signal of their
    own) report a worker killed by signal N as exit code 128 + N: give it back as -N, as Popen does."""
    code = worker.proc.returncode
    if worker.isolation != "none" and code is not None and 128 < code < 128 + signal.NSIG:
        return -(code - 128)
    return code
