"""Which cost-model calibration a run uses: the file given when it starts, the run's own copy when it resumes.

A run's estimates must all come from one cost model, or its ranking compares numbers of two
models. So a new run reads ``--calibration FILE`` once (a bad file is refused before the run
directory exists), keeps a copy as ``calibration.toml`` and records the file's name and sha256 in
config.toml; a resumed run uses that copy and refuses a ``--calibration`` with other content.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autocomp.perf.calibration import CalibrationError
from autocomp.perf.calibration_source import HASH_CHARS, CalibrationSource, read_calibration_source
from autocomp.search.config import ConfigError

SHA_KEY = "calibration_sha256"  # config.toml: the content hash of the calibration the run started with


def new_run_calibration(path: str | Path | None) -> CalibrationSource | None:
    """The calibration a new run starts with, read and validated (ConfigError names the file and key)."""
    if path is None:
        return None
    try:
        return read_calibration_source(path)
    except CalibrationError as e:
        raise ConfigError(str(e)) from None


def recorded_fields(source: CalibrationSource | None) -> dict[str, Any]:
    """What config.toml records about the calibration besides its path."""
    return {SHA_KEY: source.sha256} if source is not None else {}


def recorded_path(stored: Mapping[str, Any]) -> str | None:
    """The calibration file a run was started with, as its config.toml names it (None: the built-in model).
    Runs from before the ``[evaluation]`` table kept it at the top level."""
    evaluation = stored.get("evaluation") if isinstance(stored.get("evaluation"), Mapping) else {}
    path = evaluation.get("calibration") or stored.get("calibration")
    return str(path) if path else None


def resumed_calibration(reader, stored: Mapping[str, Any], given: str | Path | None) -> CalibrationSource | None:
    """The calibration a resumed run continues with: its own copy, checked against the recorded hash.

    ``given`` is a ``--calibration`` passed to the resume; one with other content than the recorded
    calibration (or any, for a run started with the built-in cost model) is refused.
    """
    from autocomp.store.reader import CALIBRATION_NAME

    copy = reader.root / CALIBRATION_NAME
    recorded = stored.get(SHA_KEY)
    text = reader.calibration_text()
    run = reader.root.name
    if recorded is None and text is None:
        if given is not None:
            raise ConfigError(f"--calibration {given}: run {run} was started with the built-in cost model and a "
                              "resumed run keeps the cost model it started with; drop --calibration, or start a new "
                              "run with it")
        return None
    name = Path(recorded_path(stored) or CALIBRATION_NAME).name
    if text is None:
        raise ConfigError(f"{copy}: missing; run {run} was started with calibration {name} "
                          f"(sha256:{str(recorded)[:HASH_CHARS]}); restore the file to resume the run")
    source = CalibrationSource(name=name, text=text)
    if recorded is not None and source.sha256 != recorded:
        raise ConfigError(f"{copy}: changed since run {run} started (sha256:{source.sha256[:HASH_CHARS]}, recorded "
                          f"sha256:{str(recorded)[:HASH_CHARS]}); restore it to resume the run")
    try:
        source.parse(str(copy))
    except CalibrationError as e:
        raise ConfigError(str(e)) from None
    if given is not None:
        other = new_run_calibration(given)
        if other.sha256 != source.sha256:
            raise ConfigError(f"--calibration {given} (sha256:{other.sha256[:HASH_CHARS]}) is not the calibration run "
                              f"{run} was started with ({source.label}, kept in {copy}); drop --calibration to resume "
                              "with the recorded one, or start a new run")
    return source
