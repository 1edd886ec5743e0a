"""Kernel parameter annotations (``nt.tensor[...]``, ``nt.mutable_tensor``), shared by both dialects' ``typing``."""

from __future__ import annotations

from autocomp.nki.dtypes import float32
from autocomp.nki.shapes import TensorSpec


class _TensorAnnotation:
    """``nt.tensor[shape, dtype]``: a kernel parameter annotation, also a placeholder for tracing."""

    def __init__(self, mutable: bool):
        self.mutable = mutable

    def __getitem__(self, key) -> TensorSpec:
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], (list, tuple)):
            shape, dtype = key
        elif isinstance(key, (list, tuple)) and all(isinstance(k, int) for k in key):
            shape, dtype = key, float32
        else:
            shape, dtype = (key[:-1], key[-1]) if isinstance(key, tuple) else ((key,), float32)
        return TensorSpec(shape, dtype, mutable=self.mutable)

    def __repr__(self) -> str:
        return "nt.mutable_tensor" if self.mutable else "nt.tensor"


tensor = _TensorAnnotation(mutable=False)
mutable_tensor = _TensorAnnotation(mutable=True)
