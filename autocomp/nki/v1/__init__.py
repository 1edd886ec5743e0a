"""The v1 dialect (``neuronxcc.nki``, NKI 0.1): the modules ``autocomp.nki.install`` registers under those names.

Every ``nl.*`` / ``nisa.*`` call returns a fresh tile. This frontend imports only
the dialect-free core (``autocomp.nki``), never the v2 frontend.
"""
