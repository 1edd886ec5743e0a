"""Hardware targets as data: one record per Trainium generation, and the registry that finds them.

Each target is one ``Target`` record in its own data module (``trn1.py``, ``trn2.py``, ``trn3.py``):
its documented numbers, capability flags, tile limits, calibration and measured error bands.
The simulator and the cost model ask a record what the hardware does (``target.range_select``,
``target.tile.pmax``, ``target.cal.launch_overhead_ns``) and never compare target names, so a new
generation is a new data module and a ``register`` call.

    from autocomp import targets
    targets.get("gen3").name        # aliases resolve: inf2/gen2 -> trn1, gen3 -> trn2, gen4 -> trn3
    targets.names()                 # the registered targets, oldest first
    targets.get()                   # the default target, DEFAULT_TARGET

This package imports nothing from the rest of autocomp: it is the bottom layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from autocomp.targets.record import CAPABILITIES, KIB, Z90, Band, Calibration, Target, TileLimits

__all__ = ["CAPABILITIES", "DEFAULT_TARGET", "KIB", "RECORDS", "Z90", "Band", "Calibration", "Target", "TileLimits",
           "UnknownTargetError", "choices", "earliest_with", "get", "names", "names_with", "register", "resolve",
           "unregister"]

# The target of every kernel, problem and profile that does not name one.
DEFAULT_TARGET = "trn1"


class UnknownTargetError(ValueError):
    """A target name that is neither a registered target nor one of their aliases."""


_records: dict[str, Target] = {}  # name -> record, in registration order (oldest generation first)
_aliases: dict[str, str] = {}  # every accepted spelling (names and aliases) -> name


def _key(name: str) -> str:
    return str(name).strip().lower()


def register(record: Target) -> Target:
    """Add ``record``; its name and aliases must be new (lower case). Returns the record."""
    spellings = (record.name, *record.aliases)
    for spelling in spellings:
        if spelling != _key(spelling) or not spelling:
            raise ValueError(f"target {record.name}: name or alias {spelling!r} must be non-empty, lower case and "
                             "without surrounding spaces")
        if spelling in _aliases:
            raise ValueError(f"target {record.name}: {spelling!r} already names target {_aliases[spelling]}; "
                             "unregister it first or choose another name")
    _records[record.name] = record
    _aliases.update(dict.fromkeys(spellings, record.name))
    return record


def unregister(name: str) -> None:
    """Remove the target ``name`` and its aliases (tests that register a hypothetical target clean up)."""
    record = _records.pop(resolve(name))
    for spelling in (record.name, *record.aliases):
        _aliases.pop(spelling, None)


def names() -> tuple[str, ...]:
    """The registered targets' names, in registration order."""
    return tuple(_records)


def choices(conjunction: str = "or") -> str:
    """The registered names as text for help and errors: "trn1, trn2 or trn3"."""
    listed = list(_records)
    return f"{', '.join(listed[:-1])} {conjunction} {listed[-1]}" if len(listed) > 1 else "".join(listed)


def resolve(name: str) -> str:
    """The registered name that ``name`` spells (a name or an alias, any case); UnknownTargetError otherwise."""
    found = _aliases.get(_key(name))
    if found is None:
        import difflib

        aliases = [a for a, n in _aliases.items() if a != n]
        close = difflib.get_close_matches(_key(name), list(_aliases), n=1, cutoff=0.6)
        raise UnknownTargetError(f"unknown target {name!r}; "
                                 + (f"did you mean {close[0]}? " if close else "") + f"use {choices()}"
                                 + (f" (aliases: {', '.join(aliases)})" if aliases else ""))
    return found


def get(name: str | None = None) -> Target:
    """The record of target ``name`` (a name or an alias); ``None``: the default target."""
    return _records[resolve(DEFAULT_TARGET if name is None else name)]


def names_with(capability: str) -> tuple[str, ...]:
    """The registered targets that have ``capability``, in registration order."""
    return tuple(n for n, r in _records.items() if r.has(capability))


def earliest_with(capability: str) -> str:
    """The oldest generation (lowest nc_version) with ``capability``: the X of "needs X or later"."""
    having = [r for r in _records.values() if r.has(capability)]
    if not having:
        raise LookupError(f"no registered target has {capability}")
    return min(having, key=lambda r: r.nc_version).name


class _Records(Mapping):
    """A live read-only view of the registry: name -> record."""

    def __getitem__(self, name: str) -> Target:
        return _records[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_records)

    def __len__(self) -> int:
        return len(_records)

    def __repr__(self) -> str:
        return f"targets.RECORDS({', '.join(_records)})"


RECORDS: Mapping[str, Target] = _Records()

# The built-in generations. Imported last: each data module imports the record types above.
from autocomp.targets import trn1, trn2, trn3  # noqa: E402

for _module in (trn1, trn2, trn3):
    register(_module.TARGET)
del _module
