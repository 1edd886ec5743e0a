"""``neuronxcc.nki.isa`` enumerations: engines, reduce commands, DMA modes and NeuronCore versions."""

from __future__ import annotations

import enum

from autocomp.nki.runtime import current as _current


class engine(enum.Enum):  # noqa: N801 - NKI's name
    tensor = "tensor"
    vector = "vector"
    scalar = "scalar"
    gpsimd = "gpsimd"
    sync = "sync"
    unknown = "unknown"


tensor_engine = engine.tensor
vector_engine = engine.vector
scalar_engine = engine.scalar
gpsimd_engine = engine.gpsimd
sync_engine = engine.sync
unknown_engine = engine.unknown


class reduce_cmd(enum.Enum):  # noqa: N801
    idle = 0
    reset = 1
    reduce = 2
    reset_reduce = 3
    load_reduce = 4  # tensor_scalar_cumulative only: the accumulator starts at imm1


class oob_mode(enum.Enum):  # noqa: N801
    error = 0
    skip = 1


class dge_mode(enum.Enum):  # noqa: N801
    none = 0
    swdge = 1
    hwdge = 2
    unknown = 3


class nc_version(enum.IntEnum):  # noqa: N801
    gen2 = 2
    gen3 = 3
    gen4 = 4


def get_nc_version() -> nc_version:
    return nc_version(_current().spec.nc_version)
