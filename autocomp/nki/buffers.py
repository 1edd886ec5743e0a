"""Memory spaces as kernels name them: ``nl.sbuf``, ``nl.psum``, ``nl.hbm``, ``nl.shared_hbm``, ``nl.private_hbm``.

These are the v1 dialect's buffer objects; the v2 dialect has its own (comparable
to the buffer names) and accepts these in a mixed kernel. ``placement`` returns
them from ``ncc.sbuf.auto_alloc()`` in both dialects.
"""

from __future__ import annotations

from autocomp.nki.trace import HBM, PSUM, SBUF


class Buffer:
    """A memory space: ``kind`` is the trace's buffer name (sbuf, psum, hbm)."""

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    def __repr__(self) -> str:
        return f"nl.{self.name}"


sbuf = Buffer("sbuf", SBUF)
psum = Buffer("psum", PSUM)
hbm = Buffer("hbm", HBM)
private_hbm = Buffer("private_hbm", HBM)
shared_hbm = Buffer("shared_hbm", HBM)
