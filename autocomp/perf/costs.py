"""Compute-instruction costs in engine cycles (docs/cost-model.md#mechanisms-and-their-sources).

``engine_cycles(ins, target)`` prices one traced instruction on the engine that runs it.
The Tensor engine's LoadStationary is priced separately (``load_stationary_cycles``)
because whether it is paid depends on what the engine ran just before, which only the
scheduler knows. DMA transfers are priced in ``dma.py``.
"""

from __future__ import annotations

from autocomp.nki.trace import HBM, PSUM, SBUF, Instruction
from autocomp.perf.targets import Target

_16BIT = frozenset({"bfloat16", "float16"})
_ADD_MUL_SUB = frozenset({"add", "multiply", "subtract"})
_ADD_MAX = frozenset({"add", "maximum"})
# Reductions read more than they write: N is the input size per partition.
_INPUT_SIZED = frozenset({"TENSOR_REDUCE", "BN_STATS", "BN_AGGR", "TENSOR_SCALAR_REDUCE", "ACTIVATE_REDUCE",
                          "MAX8", "PARTITION_REDUCE", "SELECT"})


# Instruction classes a calibration may price apart: (engine, opcode) -> the Calibration field that scales
# the class's per-element cost (docs/cost-model.md#instruction-class-scales). Grouped by the shape
# of their ISA1 formula and data path: two input streams, one input stream with a scalar operand, the
# loop-carried scan, reductions, batch-norm statistics, plain data movement; on the Scalar engine the
# activation pipeline apart from copies; on the Tensor engine transposes apart from matmuls (which
# pe_cycle_scale prices). Opcodes not listed keep their engine's scale only.
CLASS_SCALES: dict[tuple[str, str], str] = {
    **{("dve", op): "dve_tensor_tensor_scale" for op in ("TENSOR_TENSOR", "SCALAR_TENSOR_TENSOR",
                                                          "COPY_PREDICATED", "SELECT")},
    **{("dve", op): "dve_tensor_scalar_scale" for op in ("TENSOR_SCALAR", "EXPONENTIAL", "RECIPROCAL")},
    **{("dve", op): "dve_scan_scale" for op in ("TENSOR_TENSOR_SCAN", "TENSOR_SCALAR_CUMULATIVE")},
    **{("dve", op): "dve_reduce_scale" for op in ("TENSOR_REDUCE", "TENSOR_SCALAR_REDUCE", "ACTIVATE_REDUCE",
                                                   "MAX8")},
    **{("dve", op): "dve_bn_stats_scale" for op in ("BN_STATS", "BN_AGGR")},
    **{("dve", op): "dve_copy_scale" for op in ("TENSOR_COPY", "MEMSET", "SHUFFLE", "TRANSPOSE")},
    **{("act", op): "act_activation_scale" for op in ("ACTIVATE", "ACTIVATE2", "ACTIVATE_REDUCE")},
    **{("act", op): "act_copy_scale" for op in ("TENSOR_COPY", "TENSOR_SCALAR", "MEMSET", "RECIPROCAL")},
    ("pe", "TRANSPOSE"): "pe_transpose_scale",
}
CLASS_SCALE_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(CLASS_SCALES.values()))


# One slot holding (the last Calibration asked about, its class scales other than 1.0). The slot's content is
# replaced, never the module attribute: the sandbox's tamper check (evaluate/tamper.py) watches the identity of
# this module's attributes while a kernel runs, and the cost model runs then too.
_moved: list[tuple] = [(None, {})]


def _moved_scales(cal) -> dict[tuple[str, str], float]:
    """(engine, opcode) -> scale for the classes ``cal`` moves off 1.0. Every instruction asks, and almost
    every calibration moves none: one identity check instead of a lookup per instruction. (Threads that
    alternate calibrations only recompute: the pair is replaced whole.)"""
    last, moved = _moved[0]
    if last is not cal:
        moved = {key: getattr(cal, name) for key, name in CLASS_SCALES.items() if getattr(cal, name) != 1.0}
        _moved[0] = (cal, moved)
    return moved


def class_scale(ins: Instruction, target: Target) -> float:
    """The calibrated per-element cost scale of ``ins``'s instruction class (1.0: none, or not fitted)."""
    moved = _moved_scales(target.cal)
    return moved.get((ins.engine, ins.opcode), 1.0) if moved else 1.0


def _scaled(cycles: float, scale: float, floor: float) -> float:
    """``cycles`` of an instruction with its class's per-element cost scaled. An instruction at the floor
    (MIN_II) stays there whichever way the scale goes: its cost is issue, not elements. Above it, the
    cycles scale but never drop below the floor."""
    if scale == 1.0 or cycles <= floor:
        return cycles
    return max(floor, cycles * scale)


def _n(ins: Instruction) -> int:
    n = ins.elems
    if ins.opcode in _INPUT_SIZED and ins.src:
        n = max(n, ins.src[0].free_elems)
    return max(n, 1)


def _all16(accs) -> bool:
    return all(a.dtype in _16BIT for a in accs)


def _contiguous_inner(a) -> bool:
    for stride, count in reversed(a.pattern):
        if count > 1:
            return stride == 1
    return True


def stride_penalty(ins: Instruction, target: Target) -> int:
    """2 when an on-chip operand's most-minor stride exceeds 16 bytes [D] ARCH1, else 1."""
    limit = target.stride_penalty_bytes
    for accs in (ins.src, ins.dst):
        for a in accs:
            if a.buffer == HBM:
                continue
            for stride, count in reversed(a.pattern):
                if count > 1:
                    if abs(stride) * a.itemsize > limit:
                        return 2
                    break
    return 1


def _op_name(ins: Instruction) -> str:
    attrs = ins.attrs or {}
    op = attrs.get("op")
    if op is None:
        ops = attrs.get("ops") or ()
        op = ops[0] if ops else ""
    return str(op)


def _dve_perf_mode(ins: Instruction, target: Target) -> float:
    """Speed-up of NC-v3+ Vector performance modes [D] ARCH2."""
    if not target.dve_perf_modes:
        return 1.0
    accs = ins.src + ins.dst
    if not accs or not _all16(accs):
        return 1.0
    if ins.opcode in ("TENSOR_COPY", "TENSOR_SCALAR"):
        if all(a.buffer == SBUF for a in accs) and all(_contiguous_inner(a) for a in accs):
            return 4.0
        return 2.0
    if ins.opcode == "TENSOR_TENSOR" and all(a.buffer == SBUF for a in ins.src[:2]):
        return 2.0
    return 1.0


def _tensor_tensor(ins: Instruction, n: int) -> float:
    srcs = ins.src[:2]
    bufs = {a.buffer for a in srcs}
    if bufs == {PSUM, SBUF}:
        return n
    accs = ins.src + ins.dst
    if (all(a.dtype == "bfloat16" and a.buffer == SBUF and _contiguous_inner(a) for a in accs)
            and _op_name(ins) in _ADD_MUL_SUB):
        return n
    return 2 * n


def _vector_cycles(ins: Instruction, target: Target, n: int) -> tuple[float, bool]:
    """Vector-engine formulas [D] ISA1 before MIN_II; (cycles, known)."""
    op = ins.opcode
    min_ii = target.min_ii_cycles
    if op == "TENSOR_TENSOR":
        return max(min_ii, _tensor_tensor(ins, n)), True
    if op in ("TENSOR_SCALAR", "TENSOR_COPY", "BN_STATS", "SHUFFLE", "TRANSPOSE", "RNG"):
        return max(min_ii, n), True
    if op in ("TENSOR_SCALAR_CUMULATIVE", "QUANTIZE_MX"):
        # [E] one input stream at one element per cycle, like tensor_scalar: the running value and the
        # group maxima are kept in the pipeline
        return max(min_ii, n), True
    if op == "EXPONENTIAL":
        # [E] an activation on the Vector engine; accumulating adds the reduce tail of tensor_scalar_reduce
        return max(min_ii, n) + (min_ii if (ins.attrs or {}).get("reduce") else 0), True
    if op == "TENSOR_REDUCE":
        fast = (all(a.dtype == "bfloat16" for a in ins.src[:1] + ins.dst) and _op_name(ins) in _ADD_MAX)
        return max(min_ii, n / 2 if fast else n), True
    if op == "TENSOR_TENSOR_SCAN":
        return max(min_ii, 2 * n), True
    if op in ("TENSOR_SCALAR_REDUCE", "ACTIVATE_REDUCE"):
        return max(min_ii, n) + min_ii, True
    if op == "SCALAR_TENSOR_TENSOR":
        ops = tuple((ins.attrs or {}).get("ops") or ())
        fast = _all16(ins.src) and ops[:2] == ("subtract", "multiply") and n % 2 == 0
        return max(min_ii, n if fast else 2 * n), True
    if op == "COPY_PREDICATED":
        mixed = len({a.buffer for a in ins.src[:2]}) > 1
        return max(min_ii, n if mixed else 2 * n), True
    if op == "MEMSET":
        zero = (ins.attrs or {}).get("value", 1) == 0 and _all16(ins.dst)
        return max(min_ii, n / 2 if zero else n), True
    if op == "RECIPROCAL":
        return max(min_ii, 8 * n), True
    if op == "BN_AGGR":
        return max(min_ii, 13 * n / 3), True
    if op == "MAX8":
        return max(min_ii, n), True
    if op == "SELECT":
        return max(min_ii, 2 * n), True  # [E] select_reduce reads predicate and two values
    if op == "GATHER":
        return max(600, n), True  # [D] ISA1 dynamic-address copies
    return max(target.cal.unknown_opcode_cycles, 2 * n), False


def _scalar_cycles(ins: Instruction, target: Target, n: int) -> tuple[float, bool]:
    """Scalar-engine formulas [D] ISA1, ARCH1."""
    op = ins.opcode
    min_ii = target.min_ii_cycles
    base = max(min_ii, n)
    if op in ("ACTIVATE", "ACTIVATE2"):
        # activate2 is activate's pipeline with a second tensor-scalar stage, at the same rate [E]
        extra = target.act_read_accumulator_cycles if (ins.attrs or {}).get("reduce") else 0
        return base + extra, True
    if op == "ACTIVATE_REDUCE":
        return base + min_ii, True
    if op in ("TENSOR_SCALAR", "TENSOR_COPY"):
        fast = target.act_fast_16bit and all(a.dtype in _16BIT or a.dtype.startswith("float8")
                                             for a in ins.src + ins.dst)
        return (base / 2 if fast else base), True
    if op in ("RECIPROCAL", "MEMSET"):
        return base, True
    return max(target.cal.unknown_opcode_cycles, base), False


def _gpsimd_cycles(ins: Instruction, target: Target, n: int) -> tuple[float, bool]:
    """GpSimd: iota/affine_select are 150 + N [D] ISA1; no general rule otherwise [E]."""
    if ins.opcode in ("IOTA", "AFFINE_SELECT"):
        return target.pool_startup_cycles + n, True
    if ins.opcode in ("GATHER", "PARTITION_REDUCE"):
        return target.pool_startup_cycles + n, True  # [E] ~ local_gather with one element per index
    if ins.opcode == "NONZERO_WITH_COUNT":
        return target.pool_startup_cycles + n, True  # [E] one pass over each core's row
    if ins.opcode == "TOPK":
        attrs = ins.attrs or {}
        return 4 * attrs.get("n", n) + attrs.get("k", 1), True  # [D] nki.isa.topk: 4 * n + K cycles
    cycles, known = _vector_cycles(ins, target, n)
    return target.cal.pool_generic_startup_cycles + cycles, known


def matmul_cycles(ins: Instruction, target: Target) -> float:
    """MultiplyMoving: max(min(64, N_stationary), N_moving), x4 for fp32 (x2 with onezero) [D] ISA1/2."""
    attrs = ins.attrs or {}
    m = attrs.get("stationary_elems", ins.partitions)
    n = attrs.get("moving_elems", ins.elems)
    cycles = max(min(target.mm_init_cycles, m), n)
    if attrs.get("fp32"):
        cycles *= target.fp32_matmul_factor // 2 if attrs.get("onezero") else target.fp32_matmul_factor
    return cycles


def load_stationary_cycles(ins: Instruction, target: Target) -> float:
    """LoadStationary runs up to 4x faster than a MultiplyMoving of the same free size [D] ARCH1."""
    attrs = ins.attrs or {}
    m = attrs.get("stationary_elems", ins.partitions)
    cycles = max(m, 1) / target.load_stationary_speedup
    if attrs.get("fp32"):
        cycles *= target.fp32_matmul_factor // 2 if attrs.get("onezero") else target.fp32_matmul_factor
    return cycles


def _pe_transpose_cycles(ins: Instruction, target: Target) -> float:
    """PE transpose: max(P, min(64, F)) [D] ISA1; fp32 pays the fp32 factor (halved on v3+ [D] ARCH2)."""
    cycles = max(ins.partitions, min(target.mm_init_cycles, ins.elems))
    if (ins.attrs or {}).get("fp32"):
        cycles *= target.fp32_transpose_factor
    return cycles


def engine_timing(ins: Instruction, target: Target) -> tuple[float, float, bool]:
    """(cycles ``ins`` occupies its engine, extra cycles before a dependent instruction may read its
    result, whether a formula was known); LoadStationary excluded.

    ARCH1's static overhead of ~100 cycles for instructions with N << 128 is latency, not occupancy:
    the engine is pipelined and issues independent tiny instructions every MIN_II cycles, while an
    instruction that reads the previous one's output waits for it ("initiation interval" of dependent
    one-element instructions: 264 cycles = MIN_II + 100 + the result latency, [M] PERF). Charging it
    as occupancy priced independent tiny instructions ~3.5x over their measured average [M].
    ``static_overhead_occupancy`` (calibration) moves a share of it back into occupancy.
    """
    engine = ins.engine
    if ins.opcode in ("REGISTER", "BARRIER"):
        # a core_barrier is a semaphore update and wait on its engine, priced like a register op [E]; the wait
        # for the other core is a dependency (the barrier reads and writes the shared tensor)
        return target.cal.register_op_cycles, 0.0, True
    if engine == "pe":
        if ins.opcode == "MATMUL":
            return matmul_cycles(ins, target), 0.0, True
        if ins.opcode == "TRANSPOSE":
            return _pe_transpose_cycles(ins, target) * class_scale(ins, target), 0.0, True
        return max(target.cal.unknown_opcode_cycles, ins.elems), 0.0, False
    n = _n(ins)
    if engine == "dve":
        cycles, known = _vector_cycles(ins, target, n)
        cycles /= _dve_perf_mode(ins, target)
    elif engine == "act":
        cycles, known = _scalar_cycles(ins, target, n)
    elif engine == "pool":
        cycles, known = _gpsimd_cycles(ins, target, n)
    else:
        return max(target.cal.unknown_opcode_cycles, n), 0.0, False
    cycles = _scaled(cycles, class_scale(ins, target), target.min_ii_cycles)
    cycles *= stride_penalty(ins, target)
    if n >= target.cal.small_n:
        return cycles, 0.0, known
    busy_share = target.cal.static_overhead_occupancy
    overhead = target.static_overhead_cycles
    return cycles + overhead * busy_share, overhead * (1.0 - busy_share), known


def engine_cycles(ins: Instruction, target: Target) -> tuple[float, bool]:
    """Cycles ``ins`` occupies its engine (excluding LoadStationary), and whether a formula was known."""
    cycles, _, known = engine_timing(ins, target)
    return cycles, known


def instruction_flops(ins: Instruction) -> tuple[float, bool]:
    """(Tensor-engine flops, is_transpose) of a MATMUL / PE TRANSPOSE; (0, False) otherwise."""
    if ins.engine != "pe" or ins.opcode not in ("MATMUL", "TRANSPOSE"):
        return 0.0, False
    attrs = ins.attrs or {}
    k = attrs.get("contract", 128)
    m = attrs.get("stationary_elems", ins.partitions)
    n = attrs.get("moving_elems", ins.elems)
    flops = 2.0 * k * m * n
    mode = attrs.get("perf_mode")
    if mode == "double_row":
        flops *= 2
    elif mode == "mx":
        flops *= 4
    return flops, bool(attrs.get("transpose")) or ins.opcode == "TRANSPOSE"
