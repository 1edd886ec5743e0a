"""``neuronxcc.nki.language.constants``: dtype sizes for kernels that size tiles in bytes (``sizeinbytes``)."""

from __future__ import annotations

from autocomp.nki.v1.language.dtype_info import nki_dtype


def sizeinbytes(dtype) -> int:
    """Bytes per element of ``dtype``."""
    return nki_dtype(dtype, "sizeinbytes").itemsize


__all__ = ["sizeinbytes"]
