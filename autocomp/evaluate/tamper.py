"""Detecting a candidate that patched numpy, the builtins, the simulator or the worker's backend while it ran.

The worker snapshots the identity of every attribute of the modules (and of the
classes they define) that produce the result, and of the objects it runs the
candidate with (its backend instance), runs the candidate, and compares. The
static gate forbids such writes and nothing the worker computes is trusted for
timing anyway (the parent measures); this is defence in depth that names the
patch. Bookkeeping Python itself changes while code runs (the registry of
warnings already shown, lazily imported submodules) is not a patch.
"""

from __future__ import annotations

import sys
import types

_WATCHED_PREFIXES = ("autocomp.nki", "autocomp.perf", "autocomp.evaluate", "neuronxcc", "nki", "numpy")
_WATCHED_EXACT = ("builtins", "math", "ml_dtypes")
# Simulator bookkeeping that legitimately changes while kernels run.
_BENIGN = frozenset({"autocomp.nki.loader._counter"})

Snapshot = dict[str, dict[str, object]]
# install() re-creates the NKI facade modules on every kernel load: compare modules by name, not identity.
# ``warnings`` records each warning it has shown in the issuing module's __warningregistry__.
_IGNORED_KEYS = frozenset({"__path__", "__warningregistry__"})


def _identity(value: object) -> object:
    return ("module", value.__name__) if isinstance(value, types.ModuleType) else id(value)


def _watched() -> list[tuple[str, types.ModuleType]]:
    out = []
    for name, mod in list(sys.modules.items()):
        if mod is None or not isinstance(mod, types.ModuleType):
            continue
        if name in _WATCHED_EXACT or (name.startswith(_WATCHED_PREFIXES) and not name.startswith("numpy.")) \
                or name in ("numpy.random", "numpy.linalg"):
            out.append((name, mod))
    return out


def snapshot(objects: dict[str, object] | None = None) -> Snapshot:
    """Attribute identities of the watched modules, of the classes they define and of ``objects`` (name -> an
    instance whose attributes, and class, must not change: the worker's backend)."""
    snap: Snapshot = {}
    for name, obj in (objects or {}).items():
        cls = type(obj)
        snap[f"<{name}>"] = {"__class__": id(cls), **{k: _identity(v) for k, v in getattr(obj, "__dict__", {}).items()},
                             **{f"{cls.__name__}.{k}": _identity(v) for k, v in vars(cls).items()}}
    for name, mod in _watched():
        attrs = dict(vars(mod))
        snap[name] = {k: _identity(v) for k, v in attrs.items() if k not in _IGNORED_KEYS}
        if not name.startswith(("autocomp.", "neuronxcc", "nki")):
            continue
        for k, v in attrs.items():
            if isinstance(v, type) and getattr(v, "__module__", None) == name:
                snap[f"{name}.{k}"] = {a: _identity(b) for a, b in vars(v).items() if a not in _IGNORED_KEYS}
    return snap


def changes(before: Snapshot, objects: dict[str, object] | None = None) -> list[str]:
    """``module.attribute`` (or ``<object>.attribute``) names added, removed or replaced since ``before``;
    ``objects`` as given to ``snapshot``."""
    after = snapshot(objects)
    changed = []
    for owner, attrs in before.items():
        now = after.get(owner)
        if now is None:
            continue
        for key in sorted(set(attrs) | set(now)):
            old, new = attrs.get(key), now.get(key)
            if old == new or f"{owner}.{key}" in _BENIGN or key in _IGNORED_KEYS:
                continue
            if old is None and isinstance(new, tuple):
                continue  # a submodule imported lazily becomes an attribute of its package
            changed.append(f"{owner}.{key}")
    return changed
