"""The LNC degree of a current-dialect launch, and the NKI 0.7 check that kernel and compiler agree.

A kernel's LNC degree comes from the launch bracket (``kernel[2]``), else from the
``NEURON_LOGICAL_NC_CONFIG`` environment variable, else it is 1. From NKI 0.7 the compiler
refuses a kernel whose degree differs from its own (``--lnc`` in ``NEURON_CC_FLAGS``), and a
bracket that differs from the environment's degree (``err_lnc_degree_mismatch``). With NKI 0.6
pinned neither is checked and the environment variable is not read, as before.
See docs/nki-semantics.md#spmd-grids-and-logical-cores.
"""

from __future__ import annotations

import os
import re

from autocomp.nki import versions
from autocomp.nki.errors import raise_error

LNC_ENV = "NEURON_LOGICAL_NC_CONFIG"
CC_FLAGS_ENV = "NEURON_CC_FLAGS"
CHECKED_FROM = (0, 7)
_CC_LNC = re.compile(r"(?:^|\s)--(?:lnc|logical-nc-config)(?:=|\s+)(\S+)")


def _degree(text: str, where: str) -> int:
    if text.strip() not in ("1", "2"):
        raise_error("err_invalid_argument", f"{where} = {text!r}: the LNC degree is 1 or 2")
    return int(text)


def compiler_degree() -> int | None:
    """The ``--lnc`` degree in NEURON_CC_FLAGS, if it names one."""
    m = _CC_LNC.search(os.environ.get(CC_FLAGS_ENV, ""))
    return _degree(m.group(1), f"{CC_FLAGS_ENV} --lnc") if m else None


def lnc_grid(kernel: str, bracket: int | None, grid: tuple[int, ...], nki_version: str | None) -> tuple[int, ...]:
    """The launch grid after the version's LNC rules: ``()`` for one logical core, ``(2,)`` for two."""
    if versions.parse(nki_version) < CHECKED_FROM:
        return grid
    env = os.environ.get(LNC_ENV)
    env_degree = _degree(env, LNC_ENV) if env not in (None, "") else None
    if bracket is not None and env_degree is not None and bracket != env_degree:
        raise_error("err_lnc_degree_mismatch",
                    f"kernel {kernel!r} is launched as {kernel}[{bracket}] but {LNC_ENV}={env_degree}; the LNC degree "
                    f"must agree (nki >= 0.7): drop the bracket and set {LNC_ENV}, or make them equal")
    degree = bracket if bracket is not None else (env_degree or 1)
    cc = compiler_degree()
    if cc is not None and cc != degree:
        raise_error("err_lnc_degree_mismatch",
                    f"NKI kernel {kernel!r} is configured with LNC={degree}, but the compiler is using LNC={cc} "
                    f"({CC_FLAGS_ENV}); from nki 0.7 they must match: set {LNC_ENV}={cc} (or launch {kernel}[{cc}]), "
                    f"or change --lnc")
    return (2,) if degree == 2 else ()
