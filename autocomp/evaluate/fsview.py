"""What a sandboxed worker sees of the filesystem: a list of mounts, carried out by bwrap or by confine.py.

The view is built from nothing (an empty root) and holds only:
- read-only: the system libraries (``/usr``, ``/lib*``, ``/bin``, the dynamic loader's cache), the Python
  installation (prefixes and site-packages directories on ``sys.path``), autocomp's own package directory and
  whatever the backend names (the Neuron toolchain);
- private and empty: ``/tmp``, ``/dev`` (null, zero, full, random, urandom, tty, a private ``/dev/shm``),
  a ``/proc`` of the sandbox's own pid namespace;
- the job directory: read-only, except ``work/``, the output directory and ``in/`` (the worker empties and
  locks ``in/`` before candidate code runs; see worker.drop_privileges).
Not in it: ``$HOME``, the evaluation cache, run directories, the rest of ``/etc``, ``/run`` and ``/var`` (so no
host unix sockets), every other file of the host.
"""

from __future__ import annotations

import os
import site
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Kind = Literal["ro", "rw", "dev", "tmpfs", "symlink", "proc", "devfs", "dir"]

# Top-level system directories; merged-/usr systems have symlinks for all but /usr.
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The dynamic loader's configuration and the alternatives Debian's /usr/bin links point into.
_SYSTEM_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")


@dataclass(frozen=True)
class Mount:
    kind: Kind
    dest: str
    src: str = ""  # the host path of a bind, the target of a symlink

    def bwrap_args(self, tmpfs_mb: int) -> list[str]:
        size = ["--size", str(tmpfs_mb << 20)]
        if self.kind == "symlink":
            return ["--symlink", self.src, self.dest]
        if self.kind == "dir":  # bwrap makes a bind's missing parents 0700: unreachable once the worker is nobody
            return ["--perms", "0755", "--dir", self.dest]
        if self.kind == "tmpfs":
            return ["--perms", "1777", *size, "--tmpfs", self.dest]
        if self.kind == "proc":
            return ["--proc", self.dest]
        if self.kind == "devfs":  # bwrap's /dev/shm is a directory of /dev's tmpfs: give it its own, bounded
            return ["--dev", self.dest, "--perms", "1777", *size, "--tmpfs", self.dest + "/shm"]
        flag = {"ro": "--ro-bind", "rw": "--bind", "dev": "--dev-bind"}[self.kind]
        return [flag, self.src, self.dest]


def _host(path: str) -> Mount | None:
    """A host path shown at the same place: a symlink as a symlink (its target is bound separately), else
    read-only."""
    if os.path.islink(path):
        return Mount("symlink", path, os.readlink(path))
    if os.path.exists(path):
        return Mount("ro", path, path)
    return None


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _minimal(paths: list[str]) -> list[str]:
    """Existing directories of ``paths`` that are not inside another one (or inside a system directory)."""
    kept: list[str] = []
    for p in sorted({os.path.abspath(p) for p in paths if p and os.path.isdir(p)}, key=len):
        if not _under(p, kept + ["/usr"]) and not _under(os.path.realpath(p), kept + ["/usr"]):
            kept.append(p)
    return kept


@lru_cache(maxsize=1)
def python_paths() -> tuple[str, ...]:
    """Directories the worker's interpreter and imports need: prefixes, site-packages on sys.path, autocomp."""
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    exe = os.path.realpath(sys.executable)
    prefixes.append(os.path.dirname(os.path.dirname(exe)))  # .../bin/python -> ... (a venv's base interpreter)
    packages = [p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    if user_site in sys.path:
        packages.append(user_site)
    autocomp_dir = str(Path(__file__).resolve().parents[1])
    return tuple(_minimal([*prefixes, *packages, autocomp_dir]))


def system_mounts() -> list[Mount]:
    return [m for m in map(_host, (*_SYSTEM, *_SYSTEM_ETC)) if m is not None]


def worker_view(job_root: Path, writable: list[Path], *, extra_ro: list[str] = (),
                devices: list[str] = ()) -> list[Mount]:
    """The mounts of one worker's sandbox, in the order they must be made (a private /tmp before anything that
    lives under the host's /tmp, such as the job directory)."""
    mounts = [Mount("tmpfs", "/tmp"), *system_mounts()]
    mounts += [Mount("ro", p, p) for p in python_paths()]
    mounts += [Mount("ro", p, p) for p in _minimal(list(extra_ro)) if not _under(p, list(python_paths()))]
    mounts += [Mount("devfs", "/dev"), Mount("proc", "/proc")]
    mounts += [Mount("dev", d, d) for d in devices if os.path.exists(d)]
    root = str(job_root)
    mounts.append(Mount("ro", root, root))
    mounts += [Mount("rw", str(p), str(p)) for p in writable]
    return _with_parents(mounts)


def _with_parents(mounts: list[Mount]) -> list[Mount]:
    """``mounts`` with a world-searchable directory made for every missing parent of a mount point."""
    out: list[Mount] = []
    made: list[str] = []
    for m in mounts:
        parents = [str(p) for p in reversed(Path(m.dest).parents) if str(p) != "/"]
        for p in parents:
            host_dirs = [x.dest for x in out if x.kind in ("ro", "rw", "dev")]  # host files: their own modes
            if p not in made and p not in [x.dest for x in out] and not _under(p, host_dirs):
                out.append(Mount("dir", p))
                made.append(p)
        out.append(m)
    return out
