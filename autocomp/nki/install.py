"""Make the simulator importable under the real NKI module names.

``install()`` registers ``neuronxcc.nki`` (the v1 dialect) and ``nki`` (the v2
dialect) in ``sys.modules`` when the real packages are absent, so unmodified
kernel files and AWS-style test scripts run against the simulator. The module
names and their implementations come from the dialect registry (``dialects.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

from autocomp.nki import versions
from autocomp.nki.dialects import get_dialect, module_table  # noqa: F401 - module_table: the gate's lookup
from autocomp.nki.runtime import target_record

_installed: dict[str, types.ModuleType] = {}


def _real_package_present(name: str) -> bool:
    if name in sys.modules and name not in _installed:
        return not getattr(sys.modules[name], "__autocomp_simulator__", False)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and not (spec.origin or "").startswith(tuple(_installed))


def _facade(name: str, source: str) -> types.ModuleType:
    """A module named like the real one whose attributes are the simulator's."""
    impl = importlib.import_module(source)
    mod = types.ModuleType(name, impl.__doc__)
    # The frontend's documented API (its __all__): no helpers and no modules it imported (os, numpy, ...).
    mod.__dict__.update({k: getattr(impl, k) for k in impl.__all__})
    mod.__autocomp_simulator__ = True
    mod.__path__ = []  # a package, so submodules import
    return mod


def _register(table: dict[str, str], root: str, force: bool) -> bool:
    if not force and _real_package_present(root):
        return False
    if root == "neuronxcc.nki" and (force or "neuronxcc" not in sys.modules
                                    or getattr(sys.modules["neuronxcc"], "__autocomp_simulator__", False)):
        pkg = types.ModuleType("neuronxcc", "autocomp's stand-in for the Neuron compiler package")
        pkg.__path__ = []
        pkg.__autocomp_simulator__ = True
        sys.modules["neuronxcc"] = _installed["neuronxcc"] = pkg
    modules = {name: _facade(name, src) for name, src in table.items()}
    for name, mod in modules.items():
        sys.modules[name] = _installed[name] = mod
    for name, mod in modules.items():
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, mod)
    return True


def install(target: str | None = None, *, force: bool = False, dialects: tuple[str, ...] = ("v1", "v2"),
            nki_version: str | None = None) -> dict:
    """Register the simulator as ``neuronxcc.nki`` and ``nki`` unless the real packages import.

    ``target`` (a target name or alias, else ``NEURON_PLATFORM_TARGET_OVERRIDE``, else
    the default target) becomes the default target of kernels the installed frontends
    launch without one; it is kept on each frontend (its top module's ``STATE``).
    ``nki_version`` pins the release of the current dialect its kernels follow (``"0.6"``;
    None: the modelled one, ``autocomp.nki.versions``). Returns which dialects now use the simulator.
    """
    default = target_record(target or None)  # an unknown name fails before anything is registered
    version = versions.normalize(nki_version) if nki_version is not None else None
    done = {}
    for name in dialects:
        dialect = get_dialect(name)
        done[name] = _register(dialect.modules, dialect.package, force) or _is_ours(dialect.package)
        state = importlib.import_module(dialect.modules[dialect.package]).STATE
        state.set_default_target(default)
        if name == "v2":
            state.nki_version = version
    return done


def _is_ours(name: str) -> bool:
    return getattr(sys.modules.get(name), "__autocomp_simulator__", False)


def uninstall() -> None:
    for name in list(_installed):
        if sys.modules.get(name) is _installed[name]:
            del sys.modules[name]
    _installed.clear()
