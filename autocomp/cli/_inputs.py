"""Checks of what a user types or points the CLI at: files, timeouts, tensor shapes, launch grids.

Each check ends the command through :func:`fail` with one line that names the file, line or value and says
what to give instead, so a typo never surfaces as a traceback or as minutes of work on an absurd input.
"""

from __future__ import annotations

import linecache
import math
import os
import traceback
from pathlib import Path

from autocomp import targets
from autocomp.cli._common import fail

# Longest per-candidate wall-clock budget accepted on the command line: beyond a day a typo is likelier than intent.
MAX_TIMEOUT_S = 24 * 3600.0
# Parallel candidates: more than the NeuronCores of the largest Trainium instance (128) or any host's cores that
# the simulator could use; a larger number is a typo that would start that many worker processes.
MAX_WORKERS = 256
# The simulator runs every program of an SPMD grid in turn; real launches use a handful of NeuronCores.
MAX_GRID_PROGRAMS = 4096


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"  # pragma: no cover


def read_text_file(path: Path, what: str = "kernel file", fix: str = "save it as UTF-8 text") -> str:
    """The UTF-8 text of ``path``, or a one-line error: missing, a directory, unreadable, or not UTF-8."""
    if path.is_dir():
        fail(f"{path}: is a directory, not a {what}; give the path of the file itself")
    if not path.exists():
        fail(f"{path}: no such {what}")
    try:
        data = path.read_bytes()
    except OSError as e:
        fail(f"{path}: cannot read the {what} ({e.strerror or e})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        fail(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at column {column}); {fix}")


def check_timeout(seconds: float | None, option: str = "--timeout") -> float | None:
    """A per-candidate wall-clock budget: a finite number of seconds above zero and at most a day."""
    if seconds is None:
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        fail(f"{option} {seconds:g}: give a positive number of seconds, e.g. {option} 300")
    if seconds > MAX_TIMEOUT_S:
        fail(f"{option} {seconds:g}: at most {MAX_TIMEOUT_S:g} s (one day) per candidate; give a smaller value")
    return seconds


def check_workers(workers: int | None, option: str = "--workers") -> None:
    """A number of parallel candidates: at least 1, at most MAX_WORKERS."""
    if workers is None:
        return
    if workers < 1:
        fail(f"{option} {workers}: give at least 1")
    if workers > MAX_WORKERS:
        fail(f"{option} {workers}: at most {MAX_WORKERS} candidates in parallel (each is a process); give fewer")


def check_shapes(specs: dict, target: str, *, in_memory: bool) -> None:
    """Every ``--shapes`` tensor has dimensions of at least 1 and fits a chip's HBM (and this machine's memory
    when the simulator computes values)."""
    # No kernel input can be larger than the HBM of one chip (the target record's hbm_bytes).
    try:
        hbm = targets.get(target).hbm_bytes
    except ValueError:  # not a registered target: the largest chip's
        hbm = max(record.hbm_bytes for record in targets.RECORDS.values())
    total = 0
    for name, spec in specs.items():
        text = f"{name}={'x'.join(map(str, spec.shape))}"
        if not spec.shape:
            fail(f"--shapes {text}: give at least one dimension, e.g. {name}=128x512")
        if any(d < 1 for d in spec.shape):
            fail(f"--shapes {text}: every dimension must be at least 1")
        nbytes = math.prod(spec.shape) * spec.dtype.itemsize
        if nbytes > hbm:
            fail(f"--shapes {text}: {math.prod(spec.shape):,} elements ({_size(nbytes)}) do not fit the "
                 f"{_size(hbm)} of HBM of a {target} chip; give smaller dimensions")
        total += nbytes
    if in_memory:
        memory = _physical_memory()
        # Random inputs are drawn in float32 before conversion, and the kernel's outputs and tiles come on top.
        if memory and total * 4 > memory:
            fail(f"--shapes: the inputs take {_size(total)}, too much to simulate with values in this machine's "
                 f"{_size(memory)} of memory; give smaller shapes, or estimate latency with `autocomp profile` "
                 "(shapes only)")


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - platforms without sysconf
        return None


def parse_grid(text: str) -> tuple[int, ...]:
    """``"2x2"`` -> (2, 2): sizes of at least 1, at most MAX_GRID_PROGRAMS programs in all."""
    try:
        grid = tuple(int(g) for g in text.lower().split("x"))
    except ValueError:
        fail(f"--grid {text!r}: write the grid as sizes joined by x, e.g. 2x2")
    if any(g < 1 for g in grid):
        fail(f"--grid {text!r}: every grid size must be at least 1")
    if math.prod(grid) > MAX_GRID_PROGRAMS:
        fail(f"--grid {text!r}: {math.prod(grid):,} programs; the simulator runs each in turn, give at most "
             f"{MAX_GRID_PROGRAMS:,}")
    return grid


def kernel_failure(kernel: Path, function: str, exc: BaseException) -> tuple[str, int]:
    """One line and an exit code for an exception raised while running the kernel: where in the kernel file,
    and what. Arguments the kernel cannot take are bad input (2); a failure inside the kernel's code is 1."""
    line = None
    target = kernel.resolve()
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        try:
            if Path(frame.f_code.co_filename).resolve() == target:
                line = lineno
        except (OSError, ValueError):
            continue
    if isinstance(exc, MemoryError):
        return f"{kernel}{f':{line}' if line else ''}: {function} ran out of memory; give smaller --shapes", 1
    detail = f": {exc}" if str(exc) else ""
    if line is None and isinstance(exc, TypeError):
        return f"{kernel}: calling {function} failed{detail}", 2
    where = f"{kernel}:{line}" if line else str(kernel)
    if not detail and line:  # a bare `assert`: the failing line says what the kernel expected
        detail = f" at `{linecache.getline(str(kernel), line).strip()}`"
    return (f"{where}: {function} raised {type(exc).__name__}{detail}; check that the inputs have the shapes and "
            "dtypes the kernel expects"), 1


def refuse_run_files(out: Path, option: str, *, allow_html: bool = False) -> None:
    """Refuse an output path inside a run directory (one holding run.sqlite): user output written there could
    replace the run's database or its stored kernels. ``allow_html`` lets an HTML report sit at its top level."""
    from autocomp.store.schema import DB_NAME

    try:
        resolved = out.resolve()
    except (OSError, RuntimeError):
        return
    for parent in resolved.parents:
        if (parent / DB_NAME).exists():
            if allow_html and resolved.parent == parent and resolved.suffix.lower() in (".html", ".htm"):
                return
            fail(f"{option} {out}: inside the run directory {parent}, where it could replace the run's own files; "
                 "write it somewhere else")


def damaged_value(run_dir: Path, err: Exception) -> str:
    """A stored JSON value of a run that no longer parses: say so, and that nothing was changed."""
    return (f"{run_dir}/run.sqlite: a stored value is damaged ({type(err).__name__}: {err}); nothing was changed. "
            "Restore the run from a backup, or export the kernels you need with `autocomp runs export`")
