"""Hardware targets for the cost model: the records of ``autocomp.targets``, looked up by name.

The types (``Target``, ``Calibration``) and every number live in ``autocomp.targets``: one
record per target (``autocomp/targets/trn1.py``, ...) holds its documented numbers, each citing
its source key, and its ``Calibration`` (every estimate, [E]), so calibrating the model changes
data, not code. This module keeps the cost model's names for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from autocomp import targets
from autocomp.targets import KIB, RECORDS, Calibration, Target

__all__ = ["CALIBRATION", "KIB", "TARGETS", "Calibration", "Target", "get_target"]

TARGETS: Mapping[str, Target] = RECORDS  # name -> record, live: a target registered later is included


class _Calibrations(Mapping):
    """name -> the record's built-in calibration (a view of the registry)."""

    def __getitem__(self, name: str) -> Calibration:
        return RECORDS[name].cal

    def __iter__(self) -> Iterator[str]:
        return iter(RECORDS)

    def __len__(self) -> int:
        return len(RECORDS)


CALIBRATION: Mapping[str, Calibration] = _Calibrations()


def get_target(name: str | Target | None = None) -> Target:
    """The target called ``name`` (a registered name or alias, any case); default ``targets.DEFAULT_TARGET``."""
    if isinstance(name, Target):
        return name
    return targets.get(name or None)
