"""Which release of the current (v2) NKI dialect the simulator models, and which older one a run may pin.

The standalone ``nki`` package changes its language between releases (NKI 0.6 deprecated the
dynamic loop constructs, NKI 0.7 removed them, added ``NkiScalar`` and ``nl.if_else`` and
deprecated the range aliases). The simulator models ``MODELLED`` and can be pinned to any
release in ``PINNABLE``: a problem (``nki_version = "0.6"`` in ``problem.toml``), an
evaluation (``autocomp eval --nki-version``), ``run_kernel(nki_version=)`` or
``autocomp.nki.install(nki_version=)``. The legacy v1 dialect has no version here (""):
docs/nki-semantics.md#nki-versions lists what each version changes.
"""

from __future__ import annotations

import re

MODELLED: tuple[int, int] = (0, 7)  # NKI 0.7.0, Neuron SDK 2.33.0
PINNABLE: tuple[tuple[int, int], ...] = ((0, 6), (0, 7))

_FORM = re.compile(r"^\s*(\d+)\.(\d+)(?:\.0)?\s*$")


def label(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse(text: str | tuple | None) -> tuple[int, int]:
    """``"0.6"``, ``"0.6.0"`` or ``(0, 6)`` -> ``(0, 6)``; None -> ``MODELLED``. Others raise ValueError."""
    if text is None or text == "":
        return MODELLED
    if isinstance(text, tuple):
        version = tuple(int(x) for x in text[:2])
    else:
        m = _FORM.match(str(text))
        if m is None:
            raise ValueError(f"NKI version {text!r}: write it as major.minor, e.g. \"0.6\"; the simulator models "
                             f"{', '.join(label(v) for v in PINNABLE)}")
        version = (int(m.group(1)), int(m.group(2)))
    if version not in PINNABLE:
        raise ValueError(f"NKI version {label(version)} is not modelled; pin one of "
                         f"{', '.join(label(v) for v in PINNABLE)} (the simulator follows NKI {label(MODELLED)})")
    return version


def normalize(text: str | tuple | None) -> str:
    """The canonical label (``"0.7"``) of a version given in any accepted form."""
    return label(parse(text))
