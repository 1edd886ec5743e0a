"""Compare the simulator's NKI modules with the documented API recorded from the Neuron SDK's stub files.

``tests/nki/data/signatures_<dialect>.json`` is written by ``benchmarks/nki_signatures.py``:
every public function of each real module with its parameters (name, kind, order,
default). ``check(dialect)`` looks each one up in the module the simulator installs
under the real name and returns one ``Finding`` per documented function or method,
with what differs. The rules a simulator function must follow:

- it exists and is callable, and is not a placeholder that only raises "not simulated"
  (those carry ``__autocomp_unsupported__``);
- its positional parameters are exactly the documented ones, with the same names, in
  the same order, with the same defaults;
- a documented keyword-only parameter is keyword-only here, with the same default;
- ``*args`` / ``**kwargs`` exist here exactly when documented; extra parameters are
  allowed only as keyword-only parameters with a default (when ``**kwargs`` is
  documented, any keyword is accepted anyway).

Defaults that are names (``engine.unknown``, ``nl.sbuf``, ``np.uint8``) are evaluated
in our module's namespace; dtypes compare as numpy dtypes; ``...`` in a stub means
"some default" and only needs a default here.
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import autocomp.nki

DATA = Path(__file__).resolve().parents[1] / "nki" / "data"
# Documented classes the simulator does not export, and the class of its own whose instances play their part:
# the legacy dialect's tensor type is the simulator's tile (kept out of kernels' reach by not exporting it).
STAND_INS = {"neuronxcc.nki.tensor": ("autocomp.nki.tile", "Tile")}  # where a documented class's methods live
_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass
class Finding:
    key: str  # "nki.isa.nc_matmul", "nki.language.NkiTensor.reshape"
    documented: bool
    kind: str = "function"  # "function" (functions and methods) | "name" (classes, constants, dtypes)
    present: bool = False
    usable: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.present and self.usable and not self.problems


def load(dialect: str) -> dict:
    return json.loads((DATA / f"signatures_{dialect}.json").read_text())


def module(name: str):
    """Our module installed under the real name ``name`` (a submodule may be an attribute of its parent)."""
    autocomp.nki.install()
    try:
        return importlib.import_module(name)
    except ImportError:
        parent, _, child = name.rpartition(".")
        if not parent:
            return None
        owner = module(parent)
        return getattr(owner, child, None) if owner is not None else None


class _Unresolved:
    def __init__(self, text: str, error: Exception):
        self.text, self.error = text, error

    def __repr__(self) -> str:
        return f"<{self.text}: {type(self.error).__name__}: {self.error}>"


def _expected_default(spec: dict, namespace: dict):
    if "value" in spec:
        return tuple(spec["value"]) if spec.get("tuple") else spec["value"]
    text = spec["expr"]
    if text == "...":
        return Ellipsis
    try:
        return eval(text, {"np": np, "__builtins__": {"bool": bool, "int": int, "float": float}}, namespace)  # noqa: S307 - recorded stub text
    except Exception as e:  # noqa: BLE001 - any failure is a finding, reported with the expression
        return _Unresolved(text, e)


def _as_dtype(x):
    if isinstance(x, (str, bool, int, float)) or x is None:
        return None
    try:
        return np.dtype(x)
    except TypeError:
        return None


def same_default(ours, expected) -> bool:
    if expected is Ellipsis:
        return True
    if isinstance(expected, _Unresolved):
        return False
    if ours is expected:
        return True
    a, b = _as_dtype(ours), _as_dtype(expected)
    if a is not None and b is not None:
        return a == b
    if isinstance(expected, (list, tuple)) and isinstance(ours, (list, tuple)):
        return type(ours) is type(expected) and list(ours) == list(expected)
    if type(expected) in (int, float, bool) and type(ours) in (int, float, bool):
        return type(ours) is type(expected) and ours == expected
    try:
        return bool(ours == expected)
    except Exception:  # noqa: BLE001 - incomparable values differ
        return False


def compare(fn, documented: list[dict], namespace: dict) -> list[str]:
    """What differs between ``fn``'s signature and the documented parameters (empty when it matches)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        return [f"no signature ({e})"]
    ours = list(sig.parameters.values())
    problems = []
    doc_pos = [p for p in documented if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    our_pos = [p for p in ours if p.kind in _POSITIONAL]
    if [p["name"] for p in doc_pos] != [p.name for p in our_pos]:
        problems.append(f"positional parameters ({', '.join(p.name for p in our_pos)}) differ from the documented "
                        f"({', '.join(p['name'] for p in doc_pos)})")
    by_name = {p.name: p for p in ours}
    for doc in documented:
        kind = doc["kind"]
        if kind == "VAR_POSITIONAL":
            if not any(p.kind == p.VAR_POSITIONAL for p in ours):
                problems.append(f"*{doc['name']} is documented but not accepted")
            continue
        if kind == "VAR_KEYWORD":
            if not any(p.kind == p.VAR_KEYWORD for p in ours):
                problems.append(f"**{doc['name']} is documented but not accepted")
            continue
        p = by_name.get(doc["name"])
        if p is None:
            if kind == "KEYWORD_ONLY":
                problems.append(f"keyword {doc['name']}= is not accepted")
            continue  # a missing positional parameter is reported above
        if kind == "KEYWORD_ONLY" and p.kind != p.KEYWORD_ONLY:
            problems.append(f"{doc['name']} is keyword-only in the docs but {p.kind.description} here")
        if "default" not in doc and p.default is not _EMPTY and kind != "KEYWORD_ONLY":
            problems.append(f"{doc['name']} has a default {p.default!r} here but is required in the docs")
        if "default" not in doc and kind == "KEYWORD_ONLY" and p.default is not _EMPTY:
            problems.append(f"keyword {doc['name']}= is required in the docs but defaults to {p.default!r} here")
        if "default" in doc:
            expected = _expected_default(doc["default"], namespace)
            if p.default is _EMPTY:
                problems.append(f"{doc['name']} is required here but defaults to {expected!r} in the docs")
            elif not same_default(p.default, expected):
                problems.append(f"{doc['name']} defaults to {p.default!r} here but to {expected!r} in the docs")
    names = {d["name"] for d in documented}
    doc_varargs = any(d["kind"] == "VAR_POSITIONAL" for d in documented)
    doc_kwargs = any(d["kind"] == "VAR_KEYWORD" for d in documented)
    for p in ours:
        if p.name in names:
            continue
        if p.kind == p.VAR_POSITIONAL and not doc_varargs:
            problems.append(f"*{p.name} accepts positional arguments the docs do not")
        elif p.kind == p.VAR_KEYWORD and not doc_kwargs:
            problems.append(f"**{p.name} accepts any keyword, the docs do not")
        elif p.kind == p.KEYWORD_ONLY and p.default is _EMPTY:
            problems.append(f"extra keyword {p.name}= is required here")
    return problems


def _namespace(mod, name: str) -> dict:
    ns = {k: getattr(mod, k) for k in dir(mod)} if mod is not None else {}
    lang = module(_language_of(name))
    if lang is not None:
        ns.setdefault("nl", lang)
        for k in dir(lang):
            ns.setdefault(k, getattr(lang, k))
    return ns


def _language_of(name: str) -> str:
    return "neuronxcc.nki.language" if name.startswith("neuronxcc.") else "nki.language"


def _unsupported(fn) -> str | None:
    """Why ``fn`` only raises "not simulated" (its ``__autocomp_unsupported__``, on it or what it wraps)."""
    return getattr(fn, "__autocomp_unsupported__", None) or getattr(inspect.unwrap(fn), "__autocomp_unsupported__",
                                                                    None)


def _usable(fn) -> bool:
    return not _unsupported(fn)


def check(dialect: str) -> list[Finding]:
    data = load(dialect)
    findings = []
    for mod_name, api in data["modules"].items():
        mod = module(mod_name)
        ns = _namespace(mod, mod_name)
        for name, spec in api["functions"].items():
            f = Finding(f"{mod_name}.{name}", spec["documented"])
            fn = getattr(mod, name, None) if mod is not None else None
            if fn is None or not callable(fn):
                f.problems.append("missing" if mod is not None else f"module {mod_name} missing")
            else:
                f.present = True
                f.usable = _usable(fn)
                if not f.usable:
                    f.problems.append(f"not simulated: {_unsupported(fn)}")
                f.problems += compare(fn, spec["params"], ns)
            findings.append(f)
        for name, spec in list(api["classes"].items()) + list(api["names"].items()):
            f = Finding(f"{mod_name}.{name}", spec["documented"], kind="name")
            f.present = f.usable = mod is not None and hasattr(mod, name)
            if not f.present:
                f.problems.append("missing")
            findings.append(f)
        for cls_name, cls_spec in api["classes"].items():
            cls = getattr(mod, cls_name, None) if mod is not None else None
            # A type exported only for isinstance (legacy nki.tensor) has its methods on the stand-in tile class.
            if f"{mod_name}.{cls_name}" in STAND_INS:
                where, name = STAND_INS[f"{mod_name}.{cls_name}"]
                cls = getattr(importlib.import_module(where), name)
            for meth, meth_spec in cls_spec["methods"].items():
                f = Finding(f"{mod_name}.{cls_name}.{meth}", cls_spec["documented"])
                attr = inspect.getattr_static(cls, meth, None) if cls is not None else None
                if attr is None and cls is not None and meth_spec.get("property"):
                    attr = getattr(cls, meth, None)  # computed attributes (nl.tile_size's per-target limits)
                if attr is None:
                    f.problems.append("missing" if cls is not None else f"class {cls_name} missing")
                else:
                    f.present = True
                    f.usable = True
                    if meth_spec.get("property"):
                        if inspect.isfunction(attr):
                            f.problems.append("a method here, a property in the docs")
                    elif isinstance(attr, property):
                        f.problems.append("a property here, a method in the docs")
                    else:
                        fn = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
                        params = meth_spec["params"]
                        if not isinstance(attr, (staticmethod, classmethod)):
                            params = [{"name": "self", "kind": "POSITIONAL_OR_KEYWORD"}] + params
                        f.problems += compare(fn, params, ns)
                findings.append(f)
    return findings


def coverage(findings: list[Finding]) -> str:
    """Documented functions and names, and everything in the stubs: present / usable / matching / total."""
    lines = []
    functions = [f for f in findings if f.kind == "function"]
    names = [f for f in findings if f.kind == "name"]
    for label, group in (("documented functions", [f for f in functions if f.documented]),
                         ("all functions in the stubs", functions),
                         ("documented names", [f for f in names if f.documented])):
        lines.append(f"{label}: {sum(f.present for f in group)} present, {sum(f.present and f.usable for f in group)} "
                     f"usable, {sum(f.matches for f in group)} matching, of {len(group)}")
    return "; ".join(lines)


if __name__ == "__main__":
    for d in ("v1", "v2"):
        found = check(d)
        print(f"{d}: {coverage(found)}")
        for f in found:
            if not f.matches:
                print(f"  {f.key}{'' if f.documented else ' (undocumented)'}: {'; '.join(f.problems)}")
