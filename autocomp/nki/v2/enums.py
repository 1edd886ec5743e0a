"""``nki.isa`` enumerations, the check that enum arguments are enum members (not raw ints, nki >= 0.3), and the
NeuronCore version of the running kernel's target."""

from __future__ import annotations

import enum

from autocomp.nki.errors import raise_error
from autocomp.nki.runtime import current


class engine(enum.Enum):  # noqa: N801 - NKI's names
    tensor = "tensor"
    vector = "vector"
    scalar = "scalar"
    gpsimd = "gpsimd"
    dma = "dma"
    sync = "sync"
    unknown = "unknown"


class reduce_cmd(enum.Enum):  # noqa: N801
    idle = "idle"
    reset = "reset"
    reduce = "reduce"
    reset_reduce = "reset_reduce"
    load_reduce = "load_reduce"


class dge_mode(enum.Enum):  # noqa: N801
    unknown = "unknown"
    swdge = "swdge"
    hwdge = "hwdge"
    none = "none"


class oob_mode(enum.Enum):  # noqa: N801
    error = "error"
    skip = "skip"


class matmul_perf_mode(enum.Enum):  # noqa: N801
    none = "none"
    double_row = "double_row"


class dma_engine(enum.Enum):  # noqa: N801
    dma = "dma"
    gpsimd_dma = "gpsimd_dma"


class nc_version(enum.IntEnum):  # noqa: N801 - ordered: kernels compare generations
    gen2 = 2
    gen3 = 3
    gen4 = 4


tensor_engine = engine.tensor
vector_engine = engine.vector
scalar_engine = engine.scalar
gpsimd_engine = engine.gpsimd
sync_engine = engine.sync
unknown_engine = engine.unknown


def member(value, cls: type[enum.Enum], api: str, arg: str):
    """``value`` as a member of ``cls``; a raw integer is err_raw_integer_enum, as in nki >= 0.3."""
    if isinstance(value, cls):
        return value
    if isinstance(value, bool) or (isinstance(value, int) and not isinstance(value, enum.Enum)):
        raise_error("err_raw_integer_enum",
                    f"{api}: {arg}={value!r} is a raw integer; pass the enum member instead, e.g. "
                    f"{arg}=nisa.{cls.__name__}.{next(iter(cls)).name}")
    name = getattr(value, "name", value)
    if isinstance(name, str) and name in cls.__members__:
        return cls[name]  # the same member from another module (e.g. the v1 enums)
    raise_error("err_invalid_argument",
                f"{api}: {arg}={value!r} is not a nisa.{cls.__name__} member; use one of "
                + ", ".join(f"nisa.{cls.__name__}.{m}" for m in cls.__members__))


def reduce_command(value, api: str) -> str:
    """A ``reduce_cmd=`` argument as the core ops' command name."""
    return member(value, reduce_cmd, api, "reduce_cmd").value


def get_nc_version() -> nc_version:
    return nc_version(current().spec.nc_version)


def get_nc_sub_version() -> int:
    return 0
