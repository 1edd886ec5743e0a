"""A config dataclass whose default is computed by a call when the class is made, at import: code that runs before
any kernel call (here it would start a cache the kernel fills).

PROBLEM: ew_muladd
EXPECT: rejected
REASON: calls _start_cache when the class is made
"""
from dataclasses import dataclass

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def _start_cache():
    return print("payload ran at import")


@dataclass
class Config:
    rows: int = 128
    cache: int = _start_cache()


@nki.jit
def muladd(a, b):
    config = Config()
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // config.rows):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
