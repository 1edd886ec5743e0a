"""Checking, in the parent, an instruction trace the sandboxed worker handed back, and the facts the checks use.

The worker shares its interpreter with the candidate, so its trace file is a claim, not evidence. Before the
cost model times it, the trace must be one this kernel file could have produced for this job: every
instruction issued from a line of the kernel file, every index (loop, tensor, string) in range, every
opcode, engine, buffer and dtype one the simulator knows, every HBM access inside its tensor, the inputs
exactly the job's inputs, no on-chip tensor read before anything wrote it, and each returned output an HBM
tensor whose every element some DMA wrote. :class:`TraceRejected` says which rule failed and where.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autocomp.evaluate.protocol import TraceFacts
from autocomp.nki.trace import ENGINES, HBM, OPCODES, PSUM, SBUF, Access, Trace

BUFFERS = frozenset({HBM, SBUF, PSUM})
LOOP_KINDS = frozenset({"root", "affine", "sequential", "static", "dynamic", "python"})
TENSOR_KINDS = frozenset({"input", "output", "internal", "constant"})
# Every opcode the simulator records: trace.OPCODES plus those it records without listing them there.
_OPCODES, _ENGINES = frozenset(OPCODES) | {"SEQUENCE_BOUNDS"}, frozenset(ENGINES)
MAX_PARTITIONS = 128
MAX_PATTERN_DIMS = 16  # access patterns the simulator records have a handful of (stride, count) levels


class TraceRejected(ValueError):
    """The trace cannot be what the kernel produced for this job; the message says why, in one line."""


@dataclass(frozen=True)
class TensorSpecs:
    """What a trace must show: the kernel's inputs (shape, dtype) and its outputs (element count, dtype)."""

    inputs: list[tuple[tuple[int, ...], str]]
    outputs: list[tuple[int, str]]


def _dtype_sizes() -> dict[str, int]:
    from autocomp.nki import dtypes

    return {dtypes.dtype_name(dt): dt.itemsize for dt in vars(dtypes).values() if isinstance(dt, np.dtype)}


_ITEMSIZE = _dtype_sizes()


def _where(trace: Trace, pos: int) -> str:
    ins = trace.instructions[pos]
    return f"instruction {pos} ({ins.opcode} at line {ins.line})"


def check_trace(trace: Trace, *, kernel_path: str, kernel_lines: int, target: str, specs: TensorSpecs,
                what: str, nki_version: str | None = None) -> None:
    """Raise TraceRejected unless ``trace`` is a plausible recording of this kernel file (see the module doc).

    ``what`` names the run in messages ("the check run", "the timing run"); ``nki_version``, when given, is the
    release a v2 run had to follow.
    """
    def reject(message: str) -> TraceRejected:
        return TraceRejected(f"{what}'s trace {message}")

    if trace.target != target:
        raise reject(f"was recorded for {trace.target!r}, not the job's target {target!r}")
    if trace.dialect not in ("v1", "v2"):
        raise reject(f"names an unknown NKI dialect {trace.dialect!r}")
    if nki_version is not None and trace.dialect == "v2" and trace.nki_version != nki_version:
        raise reject(f"followed NKI {trace.nki_version or '(none)'!s}, not the job's NKI {nki_version}")
    if any(g < 1 for g in trace.grid):
        raise reject(f"has an invalid SPMD grid {list(trace.grid)}")
    instances = int(np.prod(trace.grid)) if trace.grid else 1
    for name in trace.files:
        if name != kernel_path:
            raise reject(f"names source file {name!r}; every instruction must come from the kernel file")
    _check_loops(trace, reject)
    _check_tensors(trace, reject)
    _check_instructions(trace, kernel_lines, instances, reject)
    _check_inputs(trace, specs, reject)
    _check_def_use(trace, reject)
    _check_outputs(trace, specs, reject)


def _check_loops(trace: Trace, reject) -> None:
    if not trace.loops:
        raise reject("has no root loop frame")
    for i, f in enumerate(trace.loops):
        if (f.parent != -1) if i == 0 else not 0 <= f.parent < i:
            raise reject(f"loop frame {i} has parent {f.parent}, not an earlier frame")
        if f.kind not in LOOP_KINDS or f.iteration < 0 or f.trip_count < 0:
            raise reject(f"loop frame {i} is malformed ({f.kind!r}, iteration {f.iteration}, trip {f.trip_count})")


def _check_tensors(trace: Trace, reject) -> None:
    nloops = len(trace.loops)
    for tid, t in trace.tensors.items():
        if t.buffer not in BUFFERS or t.kind not in TENSOR_KINDS or _ITEMSIZE.get(t.dtype) != t.itemsize:
            raise reject(f"tensor {tid} ({t.name!r}) has buffer {t.buffer!r}, kind {t.kind!r}, dtype {t.dtype!r} "
                         f"of {t.itemsize} bytes: not one the simulator makes")
        if min(t.shape, default=0) < 0 or min(t.partitions, t.bytes_per_partition, t.block_copies) < 0 \
                or not 0 <= t.loop < nloops:
            raise reject(f"tensor {tid} ({t.name!r}) has a negative size or an unknown loop frame")
        if t.partitions > MAX_PARTITIONS and t.buffer != HBM:
            raise reject(f"tensor {tid} ({t.name!r}) spans {t.partitions} partitions, over {MAX_PARTITIONS}")


def _check_instructions(trace: Trace, kernel_lines: int, instances: int, reject) -> None:
    nloops, nfiles, tensors = len(trace.loops), len(trace.files), trace.tensors
    hbm_bytes = {tid: int(np.prod(t.shape, dtype=np.int64)) * t.itemsize for tid, t in tensors.items()
                 if t.buffer == HBM}
    itemsizes = _ITEMSIZE
    fine_patterns: set = set()
    in_bounds: set = set()  # HBM accesses already found inside their tensor (loops repeat the same few)
    for pos, ins in enumerate(trace.instructions):
        if ins.seq != pos:
            raise reject(f"instruction {pos} carries sequence number {ins.seq}")
        if ins.opcode not in _OPCODES or ins.engine not in _ENGINES:
            raise reject(f"instruction {pos} has unknown opcode {ins.opcode!r} or engine {ins.engine!r}")
        if not 0 <= ins.loc < nfiles or not 1 <= ins.line <= kernel_lines:
            raise reject(f"instruction {pos} ({ins.opcode}) comes from line {ins.line} of file index {ins.loc}, "
                         f"outside the kernel file's {kernel_lines} lines")
        if not 0 <= ins.loop < nloops or not 0 <= ins.instance < instances:
            raise reject(f"{_where(trace, pos)} has loop frame {ins.loop} or instance {ins.instance} out of range")
        if ins.partitions < 0 or ins.elems < 0 or (ins.attrs is not None and type(ins.attrs) is not dict):
            raise reject(f"{_where(trace, pos)} has a negative size or malformed attributes")
        for a in (*ins.dst, *ins.src):
            t = tensors.get(a.tensor)
            if t is None:
                raise reject(f"{_where(trace, pos)} accesses tensor {a.tensor}, which the trace never allocated")
            if a.buffer != t.buffer or itemsizes.get(a.dtype) != a.itemsize:
                raise reject(f"{_where(trace, pos)} accesses tensor {a.tensor} as {a.buffer}/{a.dtype}, but it is "
                             f"a {t.buffer}/{t.dtype} tensor")
            if a.pattern not in fine_patterns:
                pattern = a.pattern
                if type(pattern) is not tuple or len(pattern) > MAX_PATTERN_DIMS or any(c < 0 for _, c in pattern):
                    raise reject(f"{_where(trace, pos)} has an access with a malformed pattern {a.pattern!r}")
                fine_patterns.add(a.pattern)
            if a.partitions < 0 or a.partition_start < 0:
                raise reject(f"{_where(trace, pos)} has an access with a negative partition range")
            if a.buffer != HBM:
                if a.partition_start + a.partitions > MAX_PARTITIONS:
                    raise reject(f"{_where(trace, pos)} accesses partitions {a.partition_start}.."
                                 f"{a.partition_start + a.partitions - 1}, beyond {MAX_PARTITIONS}")
                continue
            if a.indirect:
                continue
            key = (a.tensor, a.offset, a.pattern, a.partitions, a.partition_stride, a.itemsize)
            if key not in in_bounds:
                lo, hi = _extent(a)
                if lo < 0 or hi > hbm_bytes[a.tensor]:
                    raise reject(f"{_where(trace, pos)} accesses bytes {lo}..{hi} of HBM tensor {a.tensor} "
                                 f"({t.name!r}, {hbm_bytes[a.tensor]} bytes)")
                in_bounds.add(key)


def _extent(a: Access) -> tuple[int, int]:
    """The byte range [lo, hi) an HBM access touches (empty accesses touch nothing)."""
    if a.partitions == 0 or any(c == 0 for _, c in a.pattern):
        return 0, 0
    lo = hi = a.offset
    for stride, count in ((a.partition_stride, a.partitions), *a.pattern):
        step = stride * (count - 1)
        lo, hi = (lo + step, hi) if step < 0 else (lo, hi + step)
    return lo * a.itemsize, (hi + 1) * a.itemsize


def _check_inputs(trace: Trace, specs: TensorSpecs, reject) -> None:
    """The first input tensors are the job's inputs, in order; later ones are reshaped views of them."""
    inputs = [t for t in trace.tensors.values() if t.kind == "input"]
    n = len(specs.inputs)
    got = [(tuple(t.shape), t.dtype) for t in inputs[:n]]
    want = [(tuple(s), d) for s, d in specs.inputs]
    if got != want:
        raise reject(f"shows inputs {_shapes(got)} but the job passed {_shapes(want)}")
    originals = {_alias_key(t) for t in inputs[:n]}
    for t in inputs:
        if t.buffer != HBM:
            raise reject(f"places kernel input {t.name!r} outside HBM")
        if _alias_key(t) not in originals:
            raise reject(f"shows an input tensor {t.name!r} ({t.dtype}{list(t.shape)}) that is none of the job's "
                         "inputs")


def _alias_key(t) -> tuple:
    """Tensors that are views (reshapes) of one allocation share name, kind, buffer, dtype and element count."""
    return t.name, t.kind, t.buffer, t.dtype, int(np.prod(t.shape, dtype=np.int64))


def _shapes(items) -> str:
    return "[" + ", ".join(f"{d}{list(s)}" for s, d in items) + "]"


def _check_def_use(trace: Trace, reject) -> None:
    """No on-chip tensor is read before some instruction wrote it: an instruction cut out of the trace (a skipped
    matmul, a dropped load) leaves its consumers reading nothing."""
    written: set[int] = set()
    add = written.add
    for pos, ins in enumerate(trace.instructions):
        for a in ins.src:
            if a.buffer != HBM and a.tensor not in written:
                t = trace.tensors[a.tensor]
                if t.kind != "constant":
                    raise reject(f"has {_where(trace, pos)} read on-chip tensor {a.tensor} ({t.name!r}) before "
                                 "any instruction wrote it")
        for a in ins.dst:
            add(a.tensor)


def _check_outputs(trace: Trace, specs: TensorSpecs, reject) -> None:
    """Each returned output must be an HBM allocation of its size and dtype whose every element some DMA wrote
    (through the allocation itself or a reshaped view of it, which shares its flat layout)."""
    groups: dict[tuple, list[int]] = {}
    for t in trace.tensors.values():
        if t.buffer == HBM and t.kind in ("output", "input"):
            groups.setdefault(_alias_key(t), []).append(t.id)
    writes: dict[int, list[Access]] = {}
    for ins in trace.instructions:
        if ins.opcode == "DMA":
            for a in ins.dst:
                if a.buffer == HBM:
                    writes.setdefault(a.tensor, []).append(a)
    order = sorted(groups, key=lambda k: (k[1] != "output", min(groups[k])))  # allocated outputs first
    used: set[tuple] = set()
    for i, (elems, dtype) in enumerate(specs.outputs):
        best = 0
        for key in order:
            if key in used or key[3] != dtype or key[4] != elems:
                continue
            itemsize = trace.tensors[groups[key][0]].itemsize
            covered = _covered([a for tid in groups[key] for a in writes.get(tid, [])], elems, itemsize)
            if covered >= elems:
                used.add(key)
                break
            best = max(best, covered)
        else:
            raise reject(f"does not produce the whole output: at most {best} of the {elems} elements of output {i} "
                         f"({dtype}) are written to HBM")


def _covered(accesses: list[Access], elems: int, itemsize: int) -> int:
    """How many of a tensor's ``elems`` elements the accesses write (indirect writes count as their size)."""
    mask = np.zeros(elems, dtype=bool)
    bulk = 0
    shapes: dict = {}  # (partitions, partition stride, pattern) -> element offsets relative to the access offset
    for a in accesses:
        if a.indirect or a.itemsize != itemsize:
            bulk += a.nbytes // itemsize
            continue
        if a.partitions * a.free_elems > elems:  # re-writes the same elements (zero strides): no coverage credit
            continue
        key = (a.partitions, a.partition_stride, a.pattern)
        rel = shapes.get(key)
        if rel is None:
            rel = shapes[key] = _pattern_offsets(((a.partition_stride, a.partitions), *a.pattern))
        idx = rel + a.offset
        try:
            mask[idx] = True  # in bounds: check_trace checked every HBM access's extent first
        except IndexError:
            mask[idx[(idx >= 0) & (idx < elems)]] = True
    return min(elems, int(np.count_nonzero(mask)) + bulk)


def _pattern_offsets(pattern: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Element offsets of an access pattern ((stride, count), ...), outermost first, in row-major order."""
    rel = np.zeros(1, dtype=np.int64)
    for stride, count in pattern:
        rel = (rel[:, None] + np.arange(count, dtype=np.int64)[None, :] * stride).ravel()
    return rel


def trace_facts(trace: Trace) -> TraceFacts:
    """Instruction count, bytes written to HBM, work done (Tensor-engine MACs, elements other compute instructions
    processed, DMA bytes), and the dtypes compute instructions (and casting DMAs)
    used."""
    hbm = ops = dma = macs = 0
    dtypes: set[str] = set()
    for ins in trace.instructions:
        is_dma = ins.opcode == "DMA"
        for acc in ins.dst:
            if acc.buffer == "hbm":
                hbm += acc.nbytes
            if is_dma:
                dma += acc.nbytes
        if ins.opcode == "MATMUL":  # a matmul's work is its multiply-accumulates: M x N outputs, K deep each
            macs += ins.partitions * ins.elems * max(int((ins.attrs or {}).get("contract", 1) or 1), 1)
        elif not is_dma:
            ops += ins.partitions * ins.elems
        if not is_dma or (ins.attrs or {}).get("cast"):
            for acc in ins.dst:
                dtypes.add(acc.dtype)
            for acc in ins.src:
                dtypes.add(acc.dtype)
    return TraceFacts(instructions=len(trace.instructions), hbm_write_bytes=hbm, compute_dtypes=sorted(dtypes),
                      compute_ops=ops, dma_bytes=dma, macs=macs)


def output_specs(shapes: list[list[int]], dtypes: list[str]) -> list[tuple[int, str]]:
    """(element count, dtype name) of each output."""
    return [(int(np.prod(s, dtype=np.int64)), d) for s, d in zip(shapes, dtypes)]


__all__ = ["TensorSpecs", "TraceRejected", "check_trace", "output_specs", "trace_facts"]
