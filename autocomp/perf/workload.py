"""What a trace asks of the hardware regardless of how it is scheduled: FLOPs, the tensors it
reads and writes, SBUF/PSUM traffic, when each on-chip buffer is in use, and the instruction
shapes the hints look at.

One pass over the instructions collects everything the scheduler, the memory analysis, the
profile and the hints need, because a trace has 10^5 instructions and every pass over them
costs tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from autocomp.nki.trace import HBM, PSUM, SBUF, Access, Instruction, TensorInfo, Trace
from autocomp.perf.costs import instruction_flops
from autocomp.perf.deps import pattern_extent

_COMPUTE_ENGINES = frozenset({"pe", "dve", "act", "pool"})
_NO_ATTRS: dict = {}
_MISSING = object()  # attribute not set (a default applies), unlike one set to None


@dataclass
class Lifetimes:
    """When each on-chip buffer is in use, in program order. A buffer is a tensor, or one block
    of a v1 block tensor (the compiler allocates block tiles separately:
    docs/nki-semantics.md#tiles-partitions-and-block-dimensions)."""

    keys: list = field(default_factory=list)  # tensor id or (tensor id, block), in order of first access
    first: list[int] = field(default_factory=list)  # position of the first access of each
    # Bytes per partition of each: the tensor's, or what its first access spans if unknown.
    nbytes: list[int] = field(default_factory=list)
    psum: list[int] = field(default_factory=list)  # indices of the buffers in PSUM (first access); others: SBUF
    last: dict = field(default_factory=dict)  # key -> position of its last access

    def begin(self, key, pos: int, a: Access, info: TensorInfo | None) -> None:
        """Buffer ``key`` comes alive at ``pos``, first accessed by ``a``."""
        if a.buffer == PSUM:
            self.psum.append(len(self.keys))
        self.keys.append(key)
        self.first.append(pos)
        self.nbytes.append(info.bytes_per_partition if info is not None else a.free_elems * a.itemsize)


@dataclass
class Workload:
    """Schedule-independent facts about one trace."""

    model_flops: float = 0.0  # useful matmul FLOPs, FP8 adjusted by 0.5 [D] NX
    hardware_flops: float = 0.0  # all Tensor-engine FLOPs, transposes included
    transpose_flops: float = 0.0
    matmul_count: int = 0  # Tensor-engine matmuls with FLOPs
    hbm_read: set[int] = field(default_factory=set)  # HBM tensors some DMA reads
    hbm_written: set[int] = field(default_factory=set)  # HBM tensors some DMA writes
    last_write: dict[int, int] = field(default_factory=dict)  # tensor -> position of its last writer
    traffic: dict[tuple[str, str], int] = field(default_factory=dict)  # (buffer, "read"|"write") -> bytes
    buffers: Lifetimes = field(default_factory=Lifetimes)
    pool_sbuf: bool = False  # a GpSimd instruction touches SBUF (shared port on NC-v2)
    act_psum: bool = False  # a Scalar-engine instruction touches PSUM (shared port on NC-v2)
    compute: int = 0  # compute-engine instructions (register ops excluded)
    small_tiles: int = 0  # ... of which under 128 partitions or 128 elements per partition
    matmuls: int = 0  # MATMUL instructions on any engine
    fp32_matmuls: int = 0  # ... with fp32 inputs and no onezero
    thin_stationary: int = 0  # ... with <= 16 stationary columns and >= 128 moving ones
    dma_transposes: int = 0
    transposes: set[int] = field(default_factory=set)  # positions of transposes (any engine) and PE transposes


@lru_cache(maxsize=4096)  # a trace repeats a handful of patterns 10^5 times
def _pattern_elems(pattern: tuple[tuple[int, int], ...]) -> int:
    n = 1
    for _, count in pattern:
        n *= count
    return n


def _blocks(a: Access, info: TensorInfo) -> range:
    """The blocks of a v1 block tensor an access touches (memoised: loops touch the same blocks the same way)."""
    key = (info.bytes_per_partition, info.itemsize, info.block_copies, a.offset, a.pattern)
    blocks = _BLOCKS.get(key)
    if blocks is None:
        if len(_BLOCKS) > 100_000:
            _BLOCKS.clear()
        blocks = _BLOCKS[key] = _block_range(a, info)
    return blocks


_BLOCKS: dict = {}


def _block_range(a: Access, info: TensorInfo) -> range:
    per_block = max(info.bytes_per_partition // info.itemsize, 1)
    lo, hi = pattern_extent(a.pattern)
    lo, hi = a.offset + lo, a.offset + hi
    last = info.block_copies - 1
    return range(min(max(lo // per_block, 0), last), min(max(hi // per_block, 0), last) + 1)


def _first_touch(life: Lifetimes, pos: int, a: Access, info: TensorInfo | None) -> None:
    """An on-chip access of a tensor with no lifetime under its id: a new buffer, or blocks of a
    v1 block tensor (one buffer per block, keyed (tensor, block))."""
    tid, last = a.tensor, life.last
    if info is None or info.block_copies <= 1 or not info.itemsize:
        life.begin(tid, pos, a, info)
        last[tid] = pos
        return
    for b in _blocks(a, info):
        key = (tid, b)
        if key not in last:
            life.begin(key, pos, a, info)
        last[key] = pos


def _fp32_matmul(attrs: dict) -> bool:
    return bool(attrs.get("fp32") and not attrs.get("onezero"))


def _thin_stationary(attrs: dict) -> bool:
    return attrs.get("stationary_elems", 128) <= 16 and attrs.get("moving_elems", 0) >= 128


def _pe_facts(memo: dict, shape: tuple, ins: Instruction) -> tuple:
    """What a Tensor-engine instruction adds up to: (FLOPs with FP8 at 0.5 [D] NX, whether they are
    transpose FLOPs, whether it is marked a transpose, fp32 matmul, thin stationary), memoised on
    its ``shape``: everything these read."""
    attrs = ins.attrs or _NO_ATTRS
    flops, is_transpose = instruction_flops(ins)
    if flops and str(attrs.get("dtype", "")).startswith("float8"):
        flops *= 0.5
    is_mm = ins.opcode == "MATMUL"
    facts = memo[shape] = (flops, is_transpose, attrs.get("transpose") is True,
                           is_mm and _fp32_matmul(attrs), is_mm and _thin_stationary(attrs))
    return facts


def workload(trace: Trace) -> Workload:
    """Survey ``trace`` in one pass; see the module docstring."""
    w = Workload()
    tensors = trace.tensors
    life = w.buffers
    last = life.last
    elems = _pattern_elems
    read, written, last_write, transposes = w.hbm_read, w.hbm_written, w.last_write, w.transposes
    sbuf_read = psum_read = sbuf_write = psum_write = 0
    model = hardware = transpose = 0.0
    mm_count = compute = small = matmuls = fp32_mm = thin = dma_transposes = 0
    pool_sbuf = act_psum = False
    pe_facts: dict = {}  # Tensor-engine instruction shape -> _pe_facts
    for pos, ins in enumerate(trace.instructions):
        opcode, engine = ins.opcode, ins.engine
        for a in ins.src:
            buf = a.buffer
            if buf == HBM:
                if opcode == "DMA":
                    read.add(a.tensor)
                continue
            if buf == SBUF:
                sbuf_read += a.partitions * a.itemsize * elems(a.pattern)
            elif buf == PSUM:
                psum_read += a.partitions * a.itemsize * elems(a.pattern)
            tid = a.tensor
            if tid in last:
                last[tid] = pos
            else:
                _first_touch(life, pos, a, tensors.get(tid))
        for a in ins.dst:
            tid = a.tensor
            last_write[tid] = pos
            buf = a.buffer
            if buf == HBM:
                if opcode == "DMA":
                    written.add(tid)
                continue
            if buf == SBUF:
                sbuf_write += a.partitions * a.itemsize * elems(a.pattern)
            elif buf == PSUM:
                psum_write += a.partitions * a.itemsize * elems(a.pattern)
            if tid in last:
                last[tid] = pos
            else:
                _first_touch(life, pos, a, tensors.get(tid))
        if opcode == "DMA":
            if ins.attrs and ins.attrs.get("transpose"):
                dma_transposes += 1
            if engine not in _COMPUTE_ENGINES:
                continue  # a DMA on its queue: nothing else below applies
        if engine in _COMPUTE_ENGINES:
            if opcode != "REGISTER":
                compute += 1
                if ins.partitions < 128 or ins.elems < 128:
                    small += 1
            if engine == "pool":
                pool_sbuf = pool_sbuf or any(a.buffer == SBUF for a in ins.src + ins.dst)
            elif engine == "act":
                act_psum = act_psum or any(a.buffer == PSUM for a in ins.src + ins.dst)
        if opcode == "TRANSPOSE":
            transposes.add(pos)
        if engine == "pe":
            attrs = ins.attrs or _NO_ATTRS
            get = attrs.get
            shape = (opcode, ins.partitions, ins.elems, get("contract", _MISSING), get("stationary_elems", _MISSING),
                     get("moving_elems", _MISSING), get("perf_mode"), get("transpose", _MISSING),
                     get("dtype", _MISSING), get("fp32"), get("onezero"))
            facts = pe_facts.get(shape) or _pe_facts(pe_facts, shape, ins)
            flops, is_transpose, marked_transpose, fp32, thin_shape = facts
            if marked_transpose:
                transposes.add(pos)
            if flops:
                if opcode == "MATMUL":
                    mm_count += 1
                hardware += flops
                if is_transpose:
                    transpose += flops
                else:
                    model += flops
            if opcode == "MATMUL":
                matmuls += 1
                fp32_mm += fp32
                thin += thin_shape
        elif opcode == "MATMUL":
            matmuls += 1
            fp32_mm += _fp32_matmul(ins.attrs or _NO_ATTRS)
            thin += _thin_stationary(ins.attrs or _NO_ATTRS)
    w.traffic = {(SBUF, "read"): sbuf_read, (PSUM, "read"): psum_read,
                 (SBUF, "write"): sbuf_write, (PSUM, "write"): psum_write}
    w.model_flops, w.hardware_flops, w.transpose_flops, w.matmul_count = model, hardware, transpose, mm_count
    w.compute, w.small_tiles, w.matmuls, w.fp32_matmuls, w.thin_stationary = compute, small, matmuls, fp32_mm, thin
    w.dma_transposes, w.pool_sbuf, w.act_psum = dma_transposes, pool_sbuf, act_psum
    return w


def essential_hbm_bytes(trace: Trace, w: Workload, lane_factor=None) -> float:
    """Bytes of the kernel's HBM inputs it reads and outputs it writes, each counted once;
    ``lane_factor(itemsize)`` weighs each tensor's bytes as the DMA datapath counts them."""
    total = 0
    for tid in w.hbm_read | w.hbm_written:
        info = trace.tensors.get(tid)
        if info is not None and info.kind in ("input", "output"):
            nbytes = info.bytes_per_partition  # an HBM tensor's whole size
            total += nbytes * lane_factor(info.itemsize) if lane_factor else nbytes
    return total
