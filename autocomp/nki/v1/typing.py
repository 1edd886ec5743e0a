"""``neuronxcc.nki.typing``: kernel parameter annotations that are also shape placeholders."""

from __future__ import annotations

from autocomp.nki.annotations import mutable_tensor, tensor

__all__ = ["tensor", "mutable_tensor"]
