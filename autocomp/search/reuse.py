"""A run's config.toml as a ``--config``: the problem and calibration it records, reconciled with the command.

A run's config.toml holds its options and its identity: ``problem`` (name), ``problem_path`` (the
directory optimized) and ``calibration_sha256``. Given as ``--config`` with no PROBLEM it reruns that
problem with the same options; a PROBLEM that names another problem, or a calibration file whose
content changed since, is refused rather than silently giving another run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autocomp.search.config import ConfigError, SearchConfig


def problem_for_config(given: Any, identity: Mapping[str, str], where: str) -> Any:
    """The problem to optimize: ``given`` (checked against the file's ``problem``), else the recorded one."""
    from autocomp.problem import Problem
    from autocomp.suite.location import load_problem

    recorded, recorded_path = identity.get("problem"), identity.get("problem_path")
    if recorded is None:
        return given
    if given is None:
        if recorded_path and (Path(recorded_path) / "problem.toml").is_file():
            return Path(recorded_path)
        return recorded  # moved or another machine: look the name up as any PROBLEM is
    loaded = given if isinstance(given, Problem) else load_problem(given)
    if loaded.name != recorded:
        raise ConfigError(f"{where}: problem = {recorded!r} (the run this config comes from), but PROBLEM "
                          f"{given} is {loaded.name!r}; drop PROBLEM to rerun {recorded!r}, or remove the problem "
                          "and problem_path lines from the file to use its options on another problem")
    return loaded


def check_calibration(config: SearchConfig, file_values: Mapping[str, Any], identity: Mapping[str, str],
                      where: str) -> None:
    """A recorded calibration hash must match the file the config names, unless another file was given."""
    from autocomp.search.calibration import new_run_calibration

    recorded = identity.get("calibration_sha256")
    named = file_values.get("evaluation", {}).get("calibration")
    if recorded is None or named is None or config.evaluation.calibration != Path(named):
        return
    source = new_run_calibration(config.evaluation.calibration)
    if source is not None and source.sha256 != recorded:
        copy = Path(where).parent / "calibration.toml"
        raise ConfigError(f"{where}: calibration {named} has changed since the run (sha256 {source.sha256[:12]}, "
                          f"recorded {recorded[:12]}); pass --calibration {copy} (the run's copy) to reproduce it")
