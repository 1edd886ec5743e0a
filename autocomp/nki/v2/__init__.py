"""The v2 dialect (the standalone ``nki`` package, "Beta 2", nki 0.3+).

A frontend over the dialect-free core (``autocomp.nki``): ISA calls take their
destination first and return nothing, tensors are ``NkiTensor`` views over
allocations, and the v2 language rules are checked with the compiler's error
codes. It imports only the core, never the v1 frontend. ``install()`` exposes
``top``/``language``/``isa`` as ``nki``, ``nki.language`` and ``nki.isa``.
"""

from autocomp.nki.versions import MODELLED as NKI_VERSION  # noqa: E402 - the release this frontend follows

__all__ = ["NKI_VERSION"]
