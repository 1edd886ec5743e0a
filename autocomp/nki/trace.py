"""The instruction trace: what a simulated kernel executed, for the cost model.

This is the contract between the simulator (``autocomp.nki``) and the cost model
(``autocomp.perf``). It is dialect-free: both NKI frontends record the same
records, so the cost model never needs to know which language a kernel used.

Compactness matters (kernels issue 10^5+ instructions), so records are slotted
objects holding ints and short interned strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autocomp.targets import DEFAULT_TARGET

# Engines, as the profiler names them.
PE = "pe"  # Tensor engine
DVE = "dve"  # Vector engine
ACT = "act"  # Scalar (activation) engine
POOL = "pool"  # GpSimd engine
SP = "sp"  # Sync engine (sequencer that triggers DMAs)
DMA = "dma"  # DMA queues
ENGINES = (PE, DVE, ACT, POOL, SP, DMA)
# The instruction engines' names in neuron-profile's summary and in NKI's engine selectors (nisa.engine.vector).
# What people read (labels, timeline colours) is autocomp.perf.engines', built on this.
ENGINE_NAMES = {PE: "tensor", DVE: "vector", ACT: "scalar", POOL: "gpsimd", SP: "sync"}

# Opcodes (hardware instructions). ``Instruction.attrs`` keys per opcode:
#   MATMUL      stationary_elems (M), moving_elems (N), contract (K partitions), fp32 (bool),
#               accumulate (bool: adds onto an open group), stationary_key (identity of the
#               stationary data: equal keys back to back allow LoadStationary reuse),
#               perf_mode (None | "double_row"), onezero (bool), transpose (bool)
#   TRANSPOSE   on PE: like MATMUL with transpose=True; on DVE: 32x32 blocks
#   DMA         queue (issuing engine: "sp" | "act" | "pool"), dge ("none" | "hwdge" | "swdge"),
#               transpose (bool: load_transpose2d / dma_transpose), cast (bool)
#   TENSOR_TENSOR op; TENSOR_SCALAR ops (tuple); SCALAR_TENSOR_TENSOR ops; ACTIVATE func, reduce (bool);
#   TENSOR_REDUCE op; TENSOR_COPY; MEMSET value; IOTA; AFFINE_SELECT; TENSOR_TENSOR_SCAN ops;
#   TENSOR_SCALAR_REDUCE; ACTIVATE_REDUCE; RECIPROCAL; BN_STATS; BN_AGGR; SELECT; COPY_PREDICATED;
#   GATHER; PARTITION_REDUCE op; SHUFFLE; MAX8; RNG; REGISTER (scalar register ops, no data);
#   TENSOR_SCALAR_CUMULATIVE ops; EXPONENTIAL reduce (bool); ACTIVATE2 func, ops, reduce (bool);
#   NONZERO_WITH_COUNT; TOPK n, k; QUANTIZE_MX dtype; BARRIER cores (a core_barrier of kernel[2]).
#   MX matmuls are MATMUL with perf_mode "mx".
OPCODES = (
    "MATMUL", "TRANSPOSE", "DMA", "TENSOR_TENSOR", "TENSOR_SCALAR", "SCALAR_TENSOR_TENSOR",
    "ACTIVATE", "ACTIVATE_REDUCE", "TENSOR_REDUCE", "TENSOR_COPY", "MEMSET", "IOTA",
    "AFFINE_SELECT", "TENSOR_TENSOR_SCAN", "TENSOR_SCALAR_REDUCE", "RECIPROCAL", "BN_STATS",
    "BN_AGGR", "SELECT", "COPY_PREDICATED", "GATHER", "PARTITION_REDUCE", "SHUFFLE", "MAX8",
    "RNG", "REGISTER", "TENSOR_SCALAR_CUMULATIVE", "EXPONENTIAL", "ACTIVATE2", "NONZERO_WITH_COUNT", "TOPK",
    "QUANTIZE_MX", "BARRIER",
)

# Buffers.
HBM = "hbm"
SBUF = "sbuf"
PSUM = "psum"


class Access:
    """One operand region of one instruction.

    On-chip tensors (SBUF, PSUM): ``partition_start`` and ``partitions`` give the
    partition range; ``offset`` and ``pattern`` give the per-partition access in
    *elements* of the tensor's storage: element ``offset + sum(stride_k * i_k)``
    for ``i_k < count_k``, ``pattern = ((stride, count), ...)`` outermost first.

    HBM tensors: ``partitions`` is the extent of the access's first dimension
    (the one that maps onto SBUF partitions in a DMA), ``partition_stride`` its
    stride in elements, and ``offset``/``pattern`` describe the remaining
    dimensions, all in elements of the flat tensor.

    ``indirect`` marks a gather/scatter whose rows come from data at run time.
    """

    __slots__ = (
        "tensor",
        "buffer",
        "dtype",
        "itemsize",
        "partition_start",
        "partitions",
        "partition_stride",
        "offset",
        "pattern",
        "indirect",
    )

    def __init__(
        self,
        tensor: int,
        buffer: str,
        dtype: str,
        itemsize: int,
        partition_start: int,
        partitions: int,
        offset: int,
        pattern: tuple[tuple[int, int], ...],
        partition_stride: int = 0,
        indirect: bool = False,
    ):
        self.tensor = tensor
        self.buffer = buffer
        self.dtype = dtype
        self.itemsize = itemsize
        self.partition_start = partition_start
        self.partitions = partitions
        self.partition_stride = partition_stride
        self.offset = offset
        self.pattern = pattern
        self.indirect = indirect

    @property
    def free_elems(self) -> int:
        """Elements accessed per partition."""
        n = 1
        for _, count in self.pattern:
            n *= count
        return n

    @property
    def nbytes(self) -> int:
        return self.partitions * self.free_elems * self.itemsize

    def contiguous_elems(self) -> int:
        """Length of the innermost contiguous run of the per-partition pattern, in elements."""
        run = 1
        for stride, count in reversed(self.pattern):
            if count == 1:
                continue
            if stride == run:
                run *= count
            else:
                return run if run > 1 else 1
        return run

    def to_dict(self) -> dict:
        return {
            "tensor": self.tensor,
            "buffer": self.buffer,
            "dtype": self.dtype,
            "partition_start": self.partition_start,
            "partitions": self.partitions,
            "offset": self.offset,
            "pattern": [list(p) for p in self.pattern],
            "indirect": self.indirect,
        }

    def __repr__(self) -> str:
        return (
            f"Access(t{self.tensor}:{self.buffer} {self.dtype} p[{self.partition_start}:"
            f"{self.partition_start + self.partitions}] off={self.offset} {self.pattern})"
        )


class Instruction:
    """One executed instruction.

    ``opcode`` is the hardware instruction (MATMUL, TRANSPOSE, TENSOR_TENSOR,
    TENSOR_SCALAR, ACTIVATE, DMA, ...); ``api`` the NKI call that issued it
    (``nisa.nc_matmul``, ``nl.load``, ...). ``partitions`` and ``elems`` are the
    partition count and free elements per partition the engine processes (the
    N of the cost formulas). ``attrs`` holds opcode-specific facts the cost model
    uses (``stationary_elems``, ``moving_elems``, ``accumulate``, ``fp32``,
    ``transpose``, ``ops`` ...). ``loc`` indexes ``Trace.files``; ``loop``
    indexes ``Trace.loops``; ``instance`` is the SPMD program index.
    """

    __slots__ = ("seq", "opcode", "engine", "api", "dst", "src", "partitions", "elems", "attrs", "loc",
                 "line", "loop", "instance")

    def __init__(self, seq, opcode, engine, api, dst, src, partitions, elems, attrs, loc, line, loop, instance):
        self.seq = seq
        self.opcode = opcode
        self.engine = engine
        self.api = api
        self.dst = dst
        self.src = src
        self.partitions = partitions
        self.elems = elems
        self.attrs = attrs
        self.loc = loc
        self.line = line
        self.loop = loop
        self.instance = instance

    def __repr__(self) -> str:
        return f"Instruction#{self.seq}({self.opcode}@{self.engine} {self.api} p={self.partitions} n={self.elems})"


class TensorInfo:
    """One allocation. ``shape`` is the logical shape, ``partitions`` and
    ``bytes_per_partition`` the on-chip footprint of one physical copy;
    ``block_copies`` counts the logical block tiles (v1 block dimensions),
    which the compiler allocates by liveness rather than all at once.
    ``address`` is (partition, byte offset) for direct allocation; ``kind`` is
    input | output | internal | constant."""

    __slots__ = ("id", "name", "buffer", "shape", "dtype", "itemsize", "partitions", "bytes_per_partition",
                 "block_copies", "address", "kind", "created_seq", "loop")

    def __init__(self, id: int, name: str, buffer: str, shape: tuple[int, ...], dtype: str, itemsize: int,
                 partitions: int, bytes_per_partition: int, block_copies: int = 1,
                 address: tuple[int, int] | None = None, kind: str = "internal", created_seq: int = 0,
                 loop: int = 0):
        self.id = id
        self.name = name
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype
        self.itemsize = itemsize
        self.partitions = partitions
        self.bytes_per_partition = bytes_per_partition
        self.block_copies = block_copies
        self.address = address
        self.kind = kind
        self.created_seq = created_seq
        self.loop = loop

    def __repr__(self) -> str:
        return f"TensorInfo(t{self.id} {self.name} {self.buffer} {list(self.shape)} {self.dtype} {self.kind})"


@dataclass
class LoopFrame:
    """One level of loop nesting: an interned (parent, loop id, kind, iteration)."""

    parent: int
    loop_id: int
    kind: str  # affine | sequential | static | dynamic | python
    iteration: int
    trip_count: int


@dataclass
class Trace:
    """Everything a simulated run executed."""

    kernel: str = ""
    dialect: str = "v1"
    nki_version: str = ""  # the v2 release the run followed ("0.7"); "" for v1
    target: str = DEFAULT_TARGET
    grid: tuple[int, ...] = ()
    numerics: bool = True
    instructions: list[Instruction] = field(default_factory=list)
    tensors: dict[int, TensorInfo] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    loops: list[LoopFrame] = field(default_factory=lambda: [LoopFrame(-1, -1, "root", 0, 1)])
    warnings: list[str] = field(default_factory=list)
    spill_bytes: int = 0
    sbuf_peak_bytes_per_partition: int = 0
    psum_peak_bytes_per_partition: int = 0

    _file_index: dict[str, int] = field(default_factory=dict, repr=False)

    def file_id(self, filename: str) -> int:
        idx = self._file_index.get(filename)
        if idx is None:
            idx = self._file_index[filename] = len(self.files)
            self.files.append(filename)
        return idx

    def location(self, ins: Instruction) -> str:
        return f"{self.files[ins.loc]}:{ins.line}" if ins.loc >= 0 else "<unknown>"

    def loop_path(self, loop: int) -> list[LoopFrame]:
        """Frames from the outermost loop down to ``loop``."""
        path = []
        while loop > 0:
            frame = self.loops[loop]
            path.append(frame)
            loop = frame.parent
        return path[::-1]

    def __len__(self) -> int:
        return len(self.instructions)
