"""The NKI dialects the simulator implements, by the module names kernels import.

``v1`` is the ``neuronxcc.nki`` language (NKI 0.1, retired from the Neuron SDK in
2.28); ``v2`` is the standalone ``nki`` package (nki 0.3+). A problem's
``problem.toml`` names its dialect the same way (``dialect = "v1"|"v2"``). Each
frontend (``autocomp.nki.v1``, ``autocomp.nki.v2``) is named here, not imported:
the core never imports a frontend, and ``install`` loads them by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str  # "v1" | "v2"
    package: str  # the root module kernels import: "neuronxcc.nki" | "nki"
    modules: dict[str, str]  # real module name -> the simulator module implementing it


V1 = Dialect("v1", "neuronxcc.nki", {
    "neuronxcc.nki": "autocomp.nki.v1.top",
    "neuronxcc.nki.language": "autocomp.nki.v1.language",
    "neuronxcc.nki.language.constants": "autocomp.nki.v1.language.constants",
    "neuronxcc.nki.isa": "autocomp.nki.v1.isa",
    "neuronxcc.nki.isa.constants": "autocomp.nki.v1.isa.constants",
    "neuronxcc.nki.typing": "autocomp.nki.v1.typing",
    "neuronxcc.nki.compiler": "autocomp.nki.v1.compiler",
})
V2 = Dialect("v2", "nki", {
    "nki": "autocomp.nki.v2.top",
    "nki.language": "autocomp.nki.v2.language",
    "nki.isa": "autocomp.nki.v2.isa",
    "nki.collectives": "autocomp.nki.v2.collectives",
    "nki.simulator": "autocomp.nki.v2.simulator",
    "nki.framework": "autocomp.nki.v2.framework",
    "nki.framework.compiled": "autocomp.nki.v2.framework",
    "nki.typing": "autocomp.nki.v2.typing",
    "nki.compiler": "autocomp.nki.v2.compiler",
})
DIALECTS: dict[str, Dialect] = {d.name: d for d in (V1, V2)}


def get_dialect(name: str) -> Dialect:
    if name not in DIALECTS:
        raise ValueError(f"unknown NKI dialect {name!r}; use v1 (neuronxcc.nki) or v2 (nki)")
    return DIALECTS[name]


def module_table() -> dict[str, str]:
    """Every real NKI module name of both dialects -> the simulator module implementing it."""
    return {name: impl for d in DIALECTS.values() for name, impl in d.modules.items()}
