"""The API digest of the system prompt: the NKI calls of the kernel's dialect that the simulator accepts.

What the simulator accepts is read from its own public modules, the ones a kernel
imports (``neuronxcc.nki.language`` / ``.isa`` for v1, ``nki.language`` / ``.isa`` for
v2, installed by :func:`autocomp.nki.install`): every signature shown is the
simulator's, a call it does not define is never listed, and a call it defines only
to refuse ("Not simulated: ...") is left out. ``prompts/api.yaml`` adds what code
cannot say: which engine runs the call (checked against traces by the tests), one
line on what it does and its limits, and the order. Accepted calls without a line
there are listed by name, so the digest is complete without being long.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from autocomp.nki.trace import SP
from autocomp.perf.engines import ENGINE_NAMES, LABELS_BY_NAME
from autocomp.search import yamlish

# The modules a kernel of each dialect imports, by the alias kernels use for them.
MODULES = {
    "v1": {"nl": "neuronxcc.nki.language", "nisa": "neuronxcc.nki.isa"},
    "v2": {"nl": "nki.language", "nisa": "nki.isa"},
}
ROOTS = {"v1": "neuronxcc.nki", "v2": "nki"}
NOT_SIMULATED = "Not simulated"
# The lanes prompts/api.yaml may name for a call (none issues Sync-engine work of its own: it only triggers DMAs).
ENGINE_LABELS = {name: label for name, label in LABELS_BY_NAME.items() if name != ENGINE_NAMES[SP]}
# Parameters every call takes that say nothing about using it.
_HIDDEN_PARAMS = {"name", "address", "self", "cls"}


class DigestError(ValueError):
    """prompts/api.yaml is malformed; the message names the entry."""


@dataclass(frozen=True)
class DigestEntry:
    call: str  # "nl.load", "nisa.nc_matmul", "nl.Tile.reshape"
    signature: str  # "(src, *, mask=None, dtype=None)", from the simulator
    engines: tuple[str, ...]  # lanes the call's instructions may run on; () when it issues none
    does: str
    group: str = ""

    def render(self) -> str:
        where = "/".join(ENGINE_LABELS[e] for e in self.engines) or "no instruction"
        return f"- `{self.call}{self.signature}` [{where}]: {self.does}"


def module(dialect: str, alias: str) -> types.ModuleType:
    """The module a kernel imports as ``alias`` ("nl", "nisa"), the simulator's unless the real package is there."""
    name = MODULES[dialect][alias]
    if name not in sys.modules:
        import autocomp.nki

        autocomp.nki.install(dialects=(dialect,))
    return importlib.import_module(name)


def registry(dialect: str, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every call a kernel of ``dialect`` can make through nl.* and nisa.*, by qualified name."""
    calls: dict[str, Any] = {}
    for alias in MODULES[dialect]:
        for name, value in vars(module(dialect, alias)).items():
            if name.startswith("_") or name in exclude or not _is_call(value):
                continue
            if (getattr(value, "__doc__", None) or "").startswith(NOT_SIMULATED):
                continue  # defined only to refuse with a clear error
            calls[f"{alias}.{name}"] = value
    return calls


def _tile_type() -> type:
    from autocomp.nki.tile import Tile

    return Tile


_TENSOR_TYPES = {"Tile": _tile_type}


def resolve(dialect: str, call: str) -> Any | None:
    """The object behind ``call`` ("nl.load", "nl.Tile.reshape"), or None when the simulator has no such call."""
    alias, _, path = call.partition(".")
    if alias not in MODULES.get(dialect, {}):
        return None
    obj: Any = module(dialect, alias)
    head, _, rest = path.partition(".")
    if rest and head in _TENSOR_TYPES and getattr(obj, head, None) is None:
        # a kernel meets tensor objects, not their class: the v1 facade does not export it by name
        obj, path = _TENSOR_TYPES[head](), rest
    for part in path.split("."):
        obj = getattr(obj, part, None) if not part.startswith("_") else None
        if obj is None:
            return None
    if not callable(obj) or (getattr(obj, "__doc__", None) or "").startswith(NOT_SIMULATED):
        return None
    return obj


def _is_call(value: Any) -> bool:
    return inspect.isfunction(value) or inspect.isbuiltin(value)


class _Literal:
    """A default value as source text (repr() of it is the text itself)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _default_text(value: Any) -> str:
    import enum

    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return value.__name__
    if value is None or isinstance(value, (bool, int, float, str, tuple)):
        return repr(value)
    name = getattr(value, "name", None)
    return f"nl.{name}" if isinstance(name, str) and name.isidentifier() else "..."


def signature(obj: Any, hide: Collection[str] = ()) -> str:
    """``obj``'s parameters as a kernel writes them: no annotations, no ``**kwargs``, no name=/address=; optional
    parameters named in ``hide`` are left out and a trailing ``...`` says so."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params, hidden = [], False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD or p.name in _HIDDEN_PARAMS:
            continue
        if p.name in hide and p.default is not p.empty:
            hidden = True
            continue
        default = p.default if p.default is p.empty else _Literal(_default_text(p.default))
        params.append(p.replace(annotation=p.empty, default=default))
    text = str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))
    return text[:-1] + (", ...)" if len(text) > 2 else "...)") if hidden else text


def _library_file(root: Path | None) -> Path:
    if root is None:
        from autocomp.search.prompts import find_prompts_dir

        root = find_prompts_dir()
    return Path(root) / "api.yaml"


@lru_cache(maxsize=8)
def _load(path: Path) -> dict:
    data = yamlish.load(path) if path.is_file() else {}
    return data or {}


def entries(dialect: str, root: Path | None = None) -> tuple[list[DigestEntry], list[str]]:
    """(the described calls the simulator accepts, in api.yaml order; the names in api.yaml it does not accept)."""
    path = _library_file(root)
    data = _load(path)
    out, unknown = [], []
    group = ""
    hide = frozenset(str(n) for n in data.get("hide") or [])
    for i, item in enumerate(data.get(dialect) or []):
        if not isinstance(item, dict) or not {"call", "engine", "does"} <= set(item):
            raise DigestError(f"{path}: {dialect} entry {i + 1} needs call, engine and does")
        group = str(item.get("group") or group)
        engines = tuple(e for e in str(item["engine"]).split("|") if e != "none")
        bad = [e for e in engines if e not in ENGINE_LABELS]
        if bad:
            raise DigestError(f"{path}: {dialect} entry {item['call']}: unknown engine {bad[0]!r}; use "
                              f"{', '.join(ENGINE_LABELS)} or none, joined by |")
        obj = resolve(dialect, str(item["call"]))
        if obj is None:
            unknown.append(str(item["call"]))
            continue
        out.append(DigestEntry(str(item["call"]), signature(obj, hide), engines,
                               " ".join(str(item["does"]).split()), group))
    return out, unknown


def excluded(root: Path | None = None) -> frozenset[str]:
    return frozenset(str(n) for n in _load(_library_file(root)).get("exclude") or [])


@lru_cache(maxsize=8)
def _render(dialect: str, path: Path) -> str:
    described, _ = entries(dialect, path.parent)
    lines = [f"## NKI calls this kernel can use ({ROOTS[dialect]}, as the simulator accepts them)",
             "In brackets: the engine that runs the call's instructions."]
    group = None
    for entry in described:
        if entry.group != group:
            group = entry.group
            lines.append(f"\n{group}:")
        lines.append(entry.render())
    shown = {e.call for e in described}
    rest: dict[str, list[str]] = {}
    for call in registry(dialect, excluded(path.parent)):
        if call not in shown:
            alias, _, name = call.partition(".")
            rest.setdefault(alias, []).append(name)
    if rest:
        lines.append("\nAlso accepted (same conventions as the calls above): "
                     + "; ".join(f"{alias}.{{{', '.join(sorted(names))}}}" for alias, names in rest.items()) + ".")
    return "\n".join(lines)


def digest(dialect: str, root: Path | None = None) -> str:
    """The digest for ``dialect``, the same text for every call of a run (it is part of the cached prompt prefix)."""
    if dialect not in MODULES:
        return ""
    return _render(dialect, _library_file(root).resolve())
