"""``neuronxcc.nki.isa.constants``: the ISA's DMA enumerations as deployed kernels import them
(``from neuronxcc.nki.isa.constants import oob_mode``), the same objects as ``nisa.oob_mode`` / ``nisa.dge_mode``."""

from __future__ import annotations

from autocomp.nki.v1.isa.enums import dge_mode, oob_mode

__all__ = ["oob_mode", "dge_mode"]
