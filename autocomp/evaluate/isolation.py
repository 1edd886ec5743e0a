"""Which sandbox a worker runs in, and the command line that puts it there.

Modes, strongest first (``auto`` takes the first that works here):
- ``bwrap``: bubblewrap. New user, mount, pid, net, ipc, uts (and cgroup) namespaces; the filesystem view of
  fsview.py; a cleared environment plus the allow-list; ``--die-with-parent``; ``--new-session``.
- ``userns``: the same namespaces through ``unshare`` with a user namespace, the same filesystem view built by
  confine.py, the parent-death signal on ``unshare`` and on the worker.
- ``none``: only a session, resource limits and (as root) the ``nobody`` user. Candidates the evaluator does not
  trust (anything but the problem's own kernel and its knob settings) are refused in this mode unless the
  caller allows it explicitly.
The worker never holds a capability: as root it runs as ``nobody`` inside a user namespace that maps
``nobody`` to itself (and root, for the setup), so the host sees it as ``nobody`` too; as any other user it is
uid 65534 of a user namespace that maps the user alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

from autocomp.evaluate.fsview import Mount, system_mounts

MODES = ("bwrap", "userns", "none")
INNER_UID = 65534  # the worker's uid inside a user namespace that maps one host id
TMPFS_MB = 256  # the private /tmp and /dev/shm (tmpfs is memory the address-space limit does not count)
_NAMESPACES = ("--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child")
_CONFINE = str(Path(__file__).with_name("confine.py"))
_userns_lock = threading.Lock()


class IsolationUnavailable(RuntimeError):
    """The requested sandbox does not work on this machine; the message says why and what to do."""


def _tool(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + "/usr/bin:/bin:/usr/sbin:/sbin")


def pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL``: the process started through it is killed when its parent dies."""
    setpriv = _tool("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


@lru_cache(maxsize=4)
def _mapped_userns(uid: int, gid: int) -> int:
    """(root only) An fd of a user namespace mapping root and ``uid``/``gid`` to themselves.

    bwrap and unshare map a single id; with this namespace the worker can run as the host's real ``nobody``
    (not as root in disguise: RLIMIT_NPROC does not bind root, and root owns every root-owned file).
    The namespace lives as long as this fd; every worker of this process shares it.
    """
    with _userns_lock:
        holder = subprocess.Popen([_tool("unshare") or "unshare", "--user", "--", "sleep", "600"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            mine = os.readlink("/proc/self/ns/user")
            end = time.monotonic() + 10
            while True:
                try:
                    with open(f"/proc/{holder.pid}/comm") as f:
                        ready = f.read().strip() == "sleep" and os.readlink(f"/proc/{holder.pid}/ns/user") != mine
                except OSError:
                    ready = False
                if ready:
                    break
                if holder.poll() is not None or time.monotonic() > end:
                    raise IsolationUnavailable("`unshare --user` did not start a user namespace")
                time.sleep(0.001)
            for name, ident in (("uid_map", uid), ("gid_map", gid)):
                lines = "".join(f"{i} {i} 1\n" for i in sorted({0, ident}))
                with open(f"/proc/{holder.pid}/{name}", "w") as f:
                    f.write(lines)
            fd = os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
            _no_nested_userns(fd)
            return fd
        finally:
            holder.kill()
            holder.wait()


def _no_nested_userns(fd: int) -> None:
    """Forbid user namespaces inside the namespace ``fd`` (what bwrap's --disable-userns does for its own): a
    candidate gets no capabilities in a namespace of its own. Hardening only: skipped where it fails."""
    nsenter = _tool("nsenter")
    if nsenter:
        subprocess.run([nsenter, f"--user=/proc/self/fd/{fd}", "--preserve-credentials", "--", sys.executable, "-I",
                        "-S", "-c", "open('/proc/sys/user/max_user_namespaces', 'w').write('0')"],
                       pass_fds=(fd,), capture_output=True, timeout=30)


@lru_cache(maxsize=1)
def _bwrap_disables_userns() -> bool:
    try:
        help_text = subprocess.run([_tool("bwrap") or "bwrap", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--disable-userns" in help_text.stdout + help_text.stderr


def become_prefix(run_as: tuple[int, int]) -> list[str]:
    """A command prefix that takes the ids ``run_as`` (and so loses every capability) before the worker starts."""
    setpriv = _tool("setpriv")
    if setpriv:
        return [setpriv, f"--reuid={run_as[0]}", f"--regid={run_as[1]}", "--clear-groups", "--"]
    return [sys.executable, "-I", "-S", _CONFINE, "--become", str(run_as[0]), str(run_as[1]), "--"]


def identity(run_as: tuple[int, int] | None) -> dict:
    """The worker's ids inside: ``run_as`` (a root host's ``nobody``) or the single mapped uid."""
    if run_as is not None:
        return {"uid": run_as[0], "gid": run_as[1]}
    return {"inner": INNER_UID}


def bwrap_command(mounts: list[Mount], env: dict[str, str], cwd: str, run_as: tuple[int, int] | None,
                  worker: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """(argv, fds to pass) that run ``worker`` under bubblewrap."""
    argv = [_tool("bwrap") or "bwrap"]
    fds: tuple[int, ...] = ()
    if run_as is not None:  # root: set up as root of the mapped namespace, then become the host's nobody
        fd = _mapped_userns(*run_as)
        fds = (fd,)
        argv += ["--userns", str(fd), "--uid", "0", "--gid", "0", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                 "--cap-add", "CAP_SETGID"]
        worker = [*become_prefix(run_as), *worker]
    else:
        argv += ["--unshare-user", "--uid", str(INNER_UID), "--gid", str(INNER_UID)]
        if _bwrap_disables_userns():
            argv.append("--disable-userns")
    argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "autocomp-sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    for m in mounts:
        argv += m.bwrap_args(TMPFS_MB)
    argv += ["--chdir", cwd, "--", *worker]
    return argv, fds


def userns_command(mounts: list[Mount], cwd: str, run_as: tuple[int, int] | None,
                   worker: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """(argv, fds to pass) that run ``worker`` under ``unshare`` and confine.py."""
    plan = {"mounts": [{"kind": m.kind, "dest": m.dest, "src": m.src} for m in mounts], "cwd": cwd,
            "identity": identity(run_as), "tmpfs_mb": TMPFS_MB}
    unshare = _tool("unshare") or "unshare"
    if run_as is not None:
        fd = _mapped_userns(*run_as)
        prefix = [_tool("nsenter") or "nsenter", f"--user=/proc/self/fd/{fd}", "--preserve-credentials", "--",
                  unshare, *_NAMESPACES]
        fds: tuple[int, ...] = (fd,)
    else:
        prefix, fds = [unshare, "--user", "--map-root-user", *_NAMESPACES], ()
    argv = [*pdeathsig_prefix(), *prefix, "--", sys.executable, "-I", "-S", _CONFINE, json.dumps(plan), "--", *worker]
    return argv, fds


def none_command(worker: list[str]) -> tuple[list[str], tuple[int, ...]]:
    return [*pdeathsig_prefix(), *worker], ()


def command(mode: str, mounts: list[Mount], env: dict[str, str], cwd: str, run_as: tuple[int, int] | None,
            worker: list[str]) -> tuple[list[str], tuple[int, ...]]:
    if mode == "bwrap":
        return bwrap_command(mounts, env, cwd, run_as, worker)
    if mode == "userns":
        return userns_command(mounts, cwd, run_as, worker)
    return none_command(worker)


# ---------------------------------------------------------------------------------------------------- probing
def _try(mode: str) -> str | None:
    """None when ``mode`` runs a process here with the worker's namespaces and a minimal view, else why not."""
    if mode == "bwrap" and _tool("bwrap") is None:
        return "bubblewrap is not installed (no `bwrap` on PATH)"
    if mode == "userns" and (_tool("unshare") is None or (os.geteuid() == 0 and _tool("nsenter") is None)):
        return "util-linux `unshare`/`nsenter` is not installed"
    run_as = (65534, 65534) if os.geteuid() == 0 else None
    true = _tool("true") or "/bin/true"
    mounts = [Mount("tmpfs", "/tmp"), *system_mounts(), Mount("devfs", "/dev"), Mount("proc", "/proc")]
    try:
        argv, fds = command(mode, mounts, {"PATH": "/usr/bin:/bin"}, "/", run_as, [true])
        r = subprocess.run(argv, capture_output=True, timeout=30, pass_fds=fds, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, IsolationUnavailable) as e:
        return f"{type(e).__name__}: {e}"
    if r.returncode != 0:
        last = (r.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {r.returncode}"])[-1]
        return last[:300]
    return None


@lru_cache(maxsize=1)
def probe() -> dict[str, str | None]:
    """For each sandboxed mode: None when it works on this machine, else the reason it does not."""
    if sys.platform != "linux":
        return {"bwrap": "not Linux", "userns": "not Linux"}
    return {mode: _try(mode) for mode in ("bwrap", "userns")}


def resolve(mode: str) -> str:
    """``auto`` -> the strongest mode that works here (``none`` when neither sandbox does)."""
    if mode not in ("auto", *MODES):
        raise ValueError(f"isolation {mode!r}: use auto, {', '.join(MODES)}")
    found = probe()
    if mode == "auto":
        return next((m for m in ("bwrap", "userns") if found[m] is None), "none")
    if mode != "none" and found[mode] is not None:
        raise IsolationUnavailable(f"isolation {mode!r} does not work here: {found[mode]}. "
                                   + ("Install it with `apt-get install bubblewrap`" if mode == "bwrap" else
                                      "Enable user namespaces (sysctl user.max_user_namespaces, and on Debian/Ubuntu "
                                      "kernel.unprivileged_userns_clone=1)") + ", or use --isolation auto")
    return mode


def refusal(requested: str) -> str:
    """Why an untrusted candidate is not run here, and the two ways out."""
    found = probe()
    why = ("isolation 'none' was requested" if requested == "none" else
           "; ".join(f"{m}: {r}" for m, r in found.items() if r))
    return ("refusing to run an untrusted (LLM-written) candidate without a sandbox (" + why + "). Install "
            "bubblewrap (`apt-get install bubblewrap`) or enable unprivileged user namespaces, or accept the risk "
            "with --allow-unisolated (Python: Evaluator(..., allow_unisolated=True))")
