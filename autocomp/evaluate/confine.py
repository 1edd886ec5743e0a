"""The trusted launcher of the ``userns`` sandbox (used where bubblewrap is not installed).

    unshare --user --map-root-user --mount --pid --net --ipc --uts --fork --kill-child -- \\
        python -I -S confine.py PLAN_JSON -- python -m autocomp.evaluate.worker JOB_DIR

It runs as root of fresh user, mount, pid, net, ipc and uts namespaces, as the init (pid 1) of the pid
namespace. It builds the worker's filesystem view from nothing, the way bwrap does: a tmpfs as the new root,
the plan's mounts inside it (fsview.py), ``pivot_root`` and the old root detached, the new root read-only.
Then it forks the worker, which takes an unprivileged identity before it executes anything, and waits.
When the worker exits, so does this init, and the kernel kills whatever is left in the pid namespace; when
``unshare`` dies (its parent, the evaluator, died: PR_SET_PDEATHSIG), the kernel kills this init, and with it
the namespace. This init never changes its own credentials (that would clear its parent-death signal) and
is not dumpable, so the unprivileged worker can neither trace it nor read its memory.

Standard library only, no site-packages (``-I -S``): it must not import anything the sandbox is about to hide.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import sys
import traceback

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
MNT_DETACH = 2
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
# statvfs flags -> the mount flags a remount must repeat (the kernel refuses to clear them in a user namespace)
_KEEP = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME, 4096: MS_RELATIME}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}
NEW_ROOT = "/tmp"  # mount point of the new root's tmpfs (the sources are opened before it hides anything)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = _enc
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {src} on {target}")


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _KEEP.items() if flags & st)


def _submounts(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(path.rstrip("/") + "/")]


def _read_only(path: str) -> None:
    """Make the bind at ``path`` and every mount below it read-only."""
    for p in [path, *_submounts(path)]:
        _mount(None, p, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(p))


def _make_point(dest: str, like_dir: bool) -> None:
    if like_dir:
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            os.close(os.open(dest, os.O_WRONLY | os.O_CREAT, 0o644))


def _bind(fd: int, dest: str, is_dir: bool, read_only: bool) -> None:
    _make_point(dest, is_dir)
    _mount(f"/proc/self/fd/{fd}", dest, None, MS_BIND | MS_REC)
    if read_only:
        _read_only(dest)


def _tmpfs(dest: str, mode: str, size_mb: int) -> None:
    os.makedirs(dest, exist_ok=True)
    _mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size_mb}m")


def _devfs(dest: str, fds: dict[str, int], size_mb: int) -> None:
    os.makedirs(dest, exist_ok=True)
    _mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m")
    for name in DEVICES:
        if f"/dev/{name}" in fds:
            _bind(fds[f"/dev/{name}"], f"{dest}/{name}", False, False)
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"{dest}/{name}")
    _tmpfs(f"{dest}/shm", "1777", size_mb)


def build_root(mounts: list[dict], tmpfs_mb: int) -> None:
    """Mount the plan under a fresh tmpfs and make it the root."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here propagates back to the host
    sources = [m["src"] for m in mounts if m["kind"] in ("ro", "rw", "dev")]
    if any(m["kind"] == "devfs" for m in mounts):
        sources += [f"/dev/{d}" for d in DEVICES if os.path.exists(f"/dev/{d}")]
    fds = {src: os.open(src, os.O_PATH | os.O_CLOEXEC) for src in dict.fromkeys(sources)}
    is_dir = {src: os.path.isdir(f"/proc/self/fd/{fd}") for src, fd in fds.items()}
    _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for m in mounts:
        dest = NEW_ROOT + m["dest"]
        kind = m["kind"]
        if kind == "dir":
            os.makedirs(dest, mode=0o755, exist_ok=True)
            os.chmod(dest, 0o755)
        elif kind == "symlink":
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.symlink(m["src"], dest)
        elif kind == "tmpfs":
            _tmpfs(dest, "1777", tmpfs_mb)
        elif kind == "devfs":
            _devfs(dest, fds, tmpfs_mb)
        elif kind == "proc":
            os.makedirs(dest, exist_ok=True)
            _mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        else:
            _bind(fds[m["src"]], dest, is_dir[m["src"]], read_only=kind == "ro")
    for fd in fds.values():
        os.close(fd)
    os.chdir(NEW_ROOT)
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: unknown system call number on {platform.machine()}")
    _check(_libc.syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def become(identity: dict) -> None:
    """Take the worker's identity: a uid mapped in this user namespace (a root host's ``nobody``), or, where only
    one id is mapped (any other host user), uid ``inner`` of a nested user namespace with no capabilities."""
    if "uid" in identity:
        os.setgroups([])
        os.setresgid(identity["gid"], identity["gid"], identity["gid"])
        os.setresuid(identity["uid"], identity["uid"], identity["uid"])
        return
    inner = identity["inner"]
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare a user namespace")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inner} {uid} 1\n")
    _write("/proc/self/gid_map", f"{inner} {gid} 1\n")
    try:  # no user namespaces below this one: the worker could hold capabilities in a namespace of its own
        _write("/proc/sys/user/max_user_namespaces", "0")
    except OSError:
        pass
    os.setresgid(inner, inner, inner)
    os.setresuid(inner, inner, inner)


def _exit_code(status: int) -> int:
    # An init cannot kill itself with a signal: like bwrap, report "killed by N" as 128 + N.
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    if argv[1] == "--become":  # bwrap did the rest: only take the worker's ids (where setpriv is missing)
        become({"uid": int(argv[2]), "gid": int(argv[3])})
        command = argv[argv.index("--") + 1:]
        os.execv(command[0], command)
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
    plan = json.loads(argv[1])
    command = argv[argv.index("--") + 1:]
    build_root(plan["mounts"], plan["tmpfs_mb"])
    _check(_libc.sethostname(b"autocomp-sandbox", 16), "sethostname")
    os.closerange(3, 1 << 16)
    pid = os.fork()
    if pid == 0:
        try:
            become(plan["identity"])
            _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
            os.chdir(plan["cwd"])
            os.execve(command[0], command, dict(os.environ))
        except BaseException:
            traceback.print_exc()
        os._exit(127)
    while True:  # pid 1 reaps every orphan of the namespace until the worker itself exits
        done, status = os.wait()
        if done == pid:
            return _exit_code(status)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as exc:
        print(f"autocomp/evaluate/confine.py: cannot build the sandbox: {exc}", file=sys.stderr)
        sys.exit(126)
