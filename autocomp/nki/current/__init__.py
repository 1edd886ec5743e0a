"""The current NKI dialect (standalone ``nki`` package, "Beta 2", nki 0.3+).

A thin frontend over the shared core (``autocomp.nki.ops``): ISA calls take
their destination first and return nothing, tensors are ``NkiTensor`` views
over allocations, and the v2 language rules are checked with the compiler's
error codes. ``install()`` exposes ``top``/``language``/``isa`` as ``nki``,
``nki.language`` and ``nki.isa``.
"""
