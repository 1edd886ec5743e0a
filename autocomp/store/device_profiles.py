"""Neuron Explorer device profiles kept in the run: ``profiles/<candidate>-<purpose>[-<shape>]/``.

With ``--hw-profile`` the hw backend's trusted measuring half captures a profile of the timing NEFF
(``neuron-explorer capture`` + ``view --output-format summary-json``) into a staging directory it owns, marked
with :data:`STAGED_MARKER`, and the result lists it in ``device_profiles`` (``{"staged": DIR, "profile_id",
"neuron_core", ...}``). When the run store records that evaluation it moves the capture here: the NTFF, the NEFF it
was captured from (Neuron Explorer cannot process an NTFF without it) and the summary JSON, and rewrites the
entry to the run-relative ``path``. Only the known file names are taken from a directory that carries the marker,
so a record naming some other directory moves nothing. A capture over the size cap, or one that cannot be
copied, is dropped with a ``note`` (and a notice in the run's events); the evaluation is recorded either way
(docs/evaluation.md#device-profiles-in-the-run).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autocomp.evaluate.device_capture import NEFF_FILE, NTFF_FILE, PROFILE_FILES, STAGED_MARKER

PROFILES_DIR = "profiles"
DEFAULT_MAX_MB = 256.0
MIB = 1 << 20


def open_command(directory: Path | str) -> str:
    """The command that opens a stored device profile in Neuron Explorer (its docs' ``view -n NEFF -s NTFF``)."""
    directory = Path(directory)
    return f"neuron-explorer view -n {directory / NEFF_FILE} -s {directory / NTFF_FILE}"


def profile_dir_name(candidate_id: int, purpose: str, shape: str = "") -> str:
    """``0012-hw`` (``0012-hw-ctx4k`` for one shape of a problem with several): one directory per evaluation."""
    name = f"{int(candidate_id):04d}-{purpose}" + (f"-{shape}" if shape else "")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _staged_files(staged: Path) -> list[Path] | None:
    """The capture's files, or None when ``staged`` is not a staging directory the hw backend made."""
    if staged.is_symlink() or not staged.is_dir() or not (staged / STAGED_MARKER).is_file():
        return None
    return [staged / name for name in PROFILE_FILES
            if (staged / name).is_file() and not (staged / name).is_symlink()]


def _discard(staged: Path) -> None:
    """Remove a staging directory the hw backend made (only its known files, then the directory)."""
    for name in (*PROFILE_FILES, STAGED_MARKER):
        try:
            (staged / name).unlink()
        except OSError:
            pass
    try:
        staged.rmdir()
    except OSError:
        pass


def keep_device_profiles(root: Path, candidate_id: int, purpose: str, entries: Sequence[Any],
                         max_bytes: int) -> tuple[list[dict], list[str]]:
    """Move each staged capture of one evaluation into ``root/profiles/``: (the entries as the record keeps them,
    a notice for each capture that could not be kept). Never raises for a capture: the evaluation is what
    matters, and it is recorded whatever happens to its profile."""
    kept: list[dict] = []
    notices: list[str] = []
    for raw in entries:
        if not isinstance(raw, Mapping):
            continue
        entry = {k: v for k, v in raw.items() if k != "staged"}
        shape = str(entry.get("shape") or "")
        at = f" at shape {shape}" if shape else ""
        if raw.get("error"):
            notices.append(f"no Neuron Explorer profile{at}: {raw['error']}")
            kept.append(entry)
            continue
        if not isinstance(raw.get("staged"), str):
            kept.append(entry)
            continue
        staged = Path(raw["staged"])
        files = _staged_files(staged)
        if files is None:
            entry["note"] = ("its files were no longer staged (kept with another evaluation of the same "
                             "measurement, or the evaluator was closed before the evaluation was recorded)")
            kept.append(entry)
            continue
        total = sum(f.stat().st_size for f in files)
        entry["bytes"] = total
        if total > max_bytes:
            entry["note"] = (f"not kept: {total / MIB:.1f} MiB, over the {max_bytes / MIB:g} MiB cap; raise "
                             "[evaluation] hw_profile_max_mb to keep profiles this large")
            notices.append(f"Neuron Explorer profile{at} {entry['note']}")
            _discard(staged)
            kept.append(entry)
            continue
        name = profile_dir_name(candidate_id, purpose, shape)
        dest = root / PROFILES_DIR / name
        partial = dest.with_name(name + ".partial")
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            for f in files:
                shutil.copyfile(f, partial / f.name)
            if dest.exists():  # an evaluation recorded again (replace=True): the new capture wins
                shutil.rmtree(dest)
            os.replace(partial, dest)
        except OSError as e:
            shutil.rmtree(partial, ignore_errors=True)
            entry["note"] = f"not kept: copying it into the run failed ({e.strerror or e})"
            notices.append(f"Neuron Explorer profile{at} {entry['note']}")
            _discard(staged)
            kept.append(entry)
            continue
        _discard(staged)
        entry["path"] = f"{PROFILES_DIR}/{name}"
        entry["files"] = sorted(f.name for f in files)
        kept.append(entry)
    return kept, notices


def stored_profiles(root: Path, result: Mapping[str, Any]) -> list[dict]:
    """An evaluation's device profiles as readers show them: each entry with its absolute ``dir`` and the
    ``open`` command when its files are in the run, else its ``note``."""
    out = []
    for entry in result.get("device_profiles") or []:
        if not isinstance(entry, Mapping):
            continue
        shown = dict(entry)
        path = entry.get("path")
        if isinstance(path, str) and path.startswith(f"{PROFILES_DIR}/") and ".." not in Path(path).parts:
            directory = root / path
            shown["dir"] = str(directory)
            if (directory / NTFF_FILE).is_file() and (directory / NEFF_FILE).is_file():
                shown["open"] = open_command(directory)
            else:
                shown["note"] = shown.get("note") or "the profile's files are missing from the run directory"
        out.append(shown)
    return out


def run_device_profiles(reader) -> list[dict]:
    """Every device profile a run's evaluations name, one row each (candidate, purpose, shape, ``dir``, ``open``
    or ``note``): what ``autocomp runs show`` and the report list."""
    rows = []
    for evaluation in reader.evaluations():
        for entry in stored_profiles(Path(reader.root), evaluation.result):
            rows.append({"candidate": evaluation.candidate_id, "purpose": evaluation.purpose, **entry})
    return rows
