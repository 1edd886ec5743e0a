"""Honest: a frozen config dataclass, a helper object made inside the kernel whose state grows across its method
calls, typing annotations, and a dtype named by the config (getattr(nl, config.acc_dtype) used as a dtype).

PROBLEM: ew_muladd
EXPECT: correct
"""
from dataclasses import dataclass
from typing import Optional

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@dataclass(frozen=True)
class TileConfig:
    """How the kernel tiles its rows."""
    rows: int = 128
    acc_dtype: str = "float32"


class RowTiler:
    """Hands out consecutive row blocks; it lives inside one kernel call."""

    def __init__(self, rows: int, total: int):
        self.rows = rows
        self.total = total
        self.issued = 0

    def count(self) -> int:
        return self.total // self.rows

    def take(self) -> slice:
        start = self.issued * self.rows
        self.issued += 1
        return slice(start, start + self.rows)


def tiler_for(shape, config: Optional[TileConfig] = None) -> RowTiler:  # noqa: UP045 - typing is the point
    config = config or TileConfig()
    return RowTiler(config.rows, shape[0])


@nki.jit
def muladd(a, b):
    config = TileConfig()
    tiler = tiler_for(a.shape, config)
    acc = getattr(nl, config.acc_dtype)
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for _ in range(tiler.count()):
        rows = tiler.take()
        x = nl.load(a[rows, :], dtype=acc)
        y = nl.load(b[rows, :], dtype=acc)
        nl.store(out[rows, :], value=nl.add(nl.multiply(x, y), x))
    assert tiler.issued == tiler.count(), f"{tiler.issued} blocks issued"
    return out
