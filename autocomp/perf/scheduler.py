"""Schedule a trace on a model of one NeuronCore (docs/cost-model.md#pipeline, step 4).

Instructions are taken in program order. Each starts at the earliest time when
  * its inputs are ready: producer end + result latency (+ semaphore if another engine),
    with RAW/WAR/WAW on tensor regions and PSUM accumulation chains on the Tensor engine;
  * its on-chip buffers fit (liveness-based SBUF/PSUM capacity bounds run-ahead);
  * its engine has a free slot (list scheduling, priority = program order).
DMAs are issued by a queue engine, wait the fixed DMA latency (pipelined across
outstanding transfers) and then share the 16 DMA engines, capped by HBM bandwidth.
Each instruction remembers what held it back, which gives the critical path.

The loop runs once per instruction of traces with 10^5 instructions, so it keeps its
state in locals and handles the common cases inline.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from itertools import compress
from operator import add, attrgetter

from autocomp.nki.runtime import cyclic_gc_paused
from autocomp.nki.trace import HBM, PSUM, SBUF, Trace
from autocomp.perf.costs import engine_timing, load_stationary_cycles, matmul_cycles
from autocomp.perf.deps import DependencyTracker, region
from autocomp.perf.dma import DmaCost, bulk_transfer_ns, dma_cost, dma_cost_key
from autocomp.perf.memory import CapacityPool, Liveness, analyse
from autocomp.perf.recompute import recomputed
from autocomp.perf.resources import ReservationTable, TensorThrottle, find_common
from autocomp.perf.targets import Target
from autocomp.perf.workload import Workload, workload

# Why an instruction started when it did.
START, DEPENDENCY, ENGINE_BUSY, CAPACITY, DMA_BANDWIDTH, SPILL = range(6)
REASONS = ("start", "dependency", "engine busy", "buffer capacity", "DMA bandwidth", "spill")


@dataclass
class Schedule:
    """Timing of every instruction (indexed by position in ``trace.instructions``), in ns."""

    start: list[float]
    end: list[float]
    issue: list[float]  # DMA: when the queue engine triggered it; others: == start
    pred: list[int]  # position of the instruction that held this one back, or -1
    reason: list[int]  # index into REASONS
    makespan_ns: float = 0.0
    busy_ns: Counter = field(default_factory=Counter)  # engine -> active ns (DMA triggers on queues)
    count: Counter = field(default_factory=Counter)  # engine -> instructions (DMA triggers counted)
    dma_intervals: list[tuple[float, float]] = field(default_factory=list)
    dma_transfers: int = 0
    dma_bytes: int = 0
    dma_descriptors: int = 0
    dma_instructions: int = 0
    hbm_read: int = 0
    hbm_write: int = 0
    hbm_stream: float = 0.0  # HBM bytes as the DMA datapath counts them (DmaCost.hbm_stream)
    load_stationary: int = 0
    stationary_reused: int = 0
    throttle_extra_ns: float = 0.0
    unknown: Counter = field(default_factory=Counter)  # opcode@engine without a cost formula
    liveness: Liveness | None = None
    workload: Workload | None = None
    spill_ns: float = 0.0
    repeated_instances: int = 0  # SPMD instances identical to the first, charged once (see _identical_instances)
    recomputed: int = 0  # instructions recomputing an intact earlier result, charged once (see recompute.py)


# Capacity is tracked over time only where it can bind: when the program-order peak is
# below 1/HEADROOM of a buffer, run-ahead is limited by the engines long before memory.
HEADROOM = {SBUF: 8, PSUM: 4}


class _Core:
    """One NeuronCore's engines, buffers and Tensor-engine state."""

    def __init__(self, target: Target, t0: float, ports: set[str], hbm: ReservationTable | None,
                 liveness: Liveness):
        self.t0 = t0
        self.tables = {e: ReservationTable() for e in ("pe", "dve", "act", "pool", "sp", "dma")}
        self.dma = self.tables["dma"]  # the 16 DMA engines' bandwidth
        self.ports = {port: ReservationTable() for port in ports}
        self.hbm = hbm
        self.pools = {buf: CapacityPool(cap) for buf, cap in _pooled(target, liveness).items()}
        self.throttle = TensorThrottle(target.cal.pe_throttle_window_ns, target.cal.pe_throttle_start) \
            if target.pe_throttle else None
        self.stationary = None
        self.last_mm_ns = 0.0


def _pooled(target: Target, liveness: Liveness) -> dict[str, int]:
    """Capacity of each buffer whose use is tracked over time (see HEADROOM)."""
    capacity = {SBUF: target.sbuf_usable_bytes, PSUM: target.psum_bytes_per_partition}
    peak = {SBUF: liveness.sbuf_peak, PSUM: liveness.psum_peak}
    return {buf: cap for buf, cap in capacity.items() if peak[buf] * HEADROOM[buf] > cap}


def _ports(work: Workload, target: Target) -> set[str]:
    """Shared SRAM ports that matter for this trace (NC-v2: DVE/POOL on SBUF, DVE/ACT on PSUM)."""
    if not target.shared_sram_ports:
        return set()
    return {port for port, used in (("sbuf_port", work.pool_sbuf), ("psum_port", work.act_psum)) if used}


_PORTED = frozenset({"dve", "pool", "act"})  # engines that share SRAM ports on NC-v2


def _engine_tables(core: _Core, ins, engine: str) -> list[ReservationTable] | None:
    """The engine's table plus the shared SRAM ports this instruction needs on NC-v2; None when
    it needs no port."""
    ports = core.ports
    if not ports or engine not in _PORTED:
        return None
    tables = [core.tables[engine]]
    buffers = {a.buffer for a in ins.src + ins.dst}
    if engine in ("dve", "pool") and "sbuf_port" in ports and SBUF in buffers:
        tables.append(ports["sbuf_port"])
    if engine in ("dve", "act") and "psum_port" in ports and PSUM in buffers:
        tables.append(ports["psum_port"])
    return tables if len(tables) > 1 else None


def _instance_groups(trace: Trace) -> tuple[list[list[int]], bool]:
    """Positions per SPMD instance, and whether the instances run concurrently (v2 LNC=2)."""
    instances = sorted({ins.instance for ins in trace.instructions})
    if len(instances) <= 1:
        return [list(range(len(trace.instructions)))], False
    groups: dict[int, list[int]] = {i: [] for i in instances}
    for pos, ins in enumerate(trace.instructions):
        groups[ins.instance].append(pos)
    return [groups[i] for i in instances], trace.dialect == "v2"


def dynamic_loop_buffers(trace: Trace) -> dict[int, int]:
    """Tensor id -> the id of the first tensor from the same allocation site, for on-chip tensors
    allocated directly in the body of a device loop (``dynamic_range``, ``fori_loop``, ``while_loop``).

    Unlike unrolled loops, a loop that runs on the device allocates its body's tensors once and every
    iteration reuses them, which serialises the iterations [D] LG2 (control flow), MIG. The simulator
    allocates anew per iteration, so the scheduler makes the copies share one set of dependency
    records: an iteration's write waits for the previous iteration's readers (WAR) and writers (WAW).
    The k-th tensor an iteration allocates is taken to come from the k-th allocation site.
    """
    loops = trace.loops
    dynamic = {i for i, f in enumerate(loops) if f.kind == "dynamic"}
    if not dynamic:
        return {}
    seen: dict[int, int] = {}  # frame -> tensors allocated in it so far
    sites: dict[tuple, int] = {}
    out: dict[int, int] = {}
    for tid in sorted(trace.tensors):
        info = trace.tensors[tid]
        if info.loop not in dynamic or info.buffer == HBM:
            continue
        frame = loops[info.loop]
        k = seen.get(info.loop, 0)
        seen[info.loop] = k + 1
        site = sites.setdefault((frame.parent, frame.loop_id, k), tid)
        if site != tid:
            out[tid] = site
    return out


def _identical_instances(trace: Trace, groups: list[list[int]]) -> bool:
    """Whether every SPMD instance executes the same instructions on the same HBM data as the first.

    Kernel inputs and outputs are compared by name (an instance's reshaped view of an input is a new
    tensor over the same memory); other tensors, each instance's own, by placement only."""
    instrs, tensors = trace.instructions, trace.tensors

    def shape(a) -> tuple:
        info = tensors.get(a.tensor) if a.buffer == HBM else None
        key = (info.name, info.kind) if info is not None and info.kind in ("input", "output") else None
        return (a.buffer, key, a.partition_start, a.partitions, a.partition_stride, a.offset, a.pattern, a.indirect)

    first = groups[0]
    if any(len(g) != len(first) for g in groups):
        return False
    for group in groups[1:]:
        for pos, twin in zip(group, first):
            a, b = instrs[pos], instrs[twin]
            if (a.opcode != b.opcode or a.engine != b.engine or a.partitions != b.partitions or a.elems != b.elems
                    or len(a.src) != len(b.src) or len(a.dst) != len(b.dst)
                    or any(shape(x) != shape(y) for x, y in zip(a.src + a.dst, b.src + b.dst))):
                return False
    return True


def _in_program_order(groups: list[list[int]]) -> bool:
    """Whether placing the groups one after another visits the instructions in program order."""
    return len(groups) == 1 or [pos for group in groups for pos in group] == list(range(sum(map(len, groups))))


def _last_writers(work: Workload, n: int, in_program_order: bool) -> dict[int, int]:
    """Position of the last instruction that writes each written tensor. Out of program order a
    position says nothing about what is placed later, so every tensor gets one past the end."""
    return work.last_write if in_program_order else dict.fromkeys(work.last_write, n)


def schedule(trace: Trace, target: Target) -> Schedule:
    """Schedule ``trace`` on ``target``; see the module docstring for the model."""
    with cyclic_gc_paused():
        return _schedule(trace, target)


def _schedule(trace: Trace, target: Target) -> Schedule:
    n = len(trace.instructions)
    sched = Schedule([0.0] * n, [0.0] * n, [0.0] * n, [-1] * n, [START] * n)
    sched.workload = work = workload(trace)
    sched.liveness = analyse(trace, target, work)
    groups, concurrent = _instance_groups(trace)
    last_write = _last_writers(work, n, concurrent or _in_program_order(groups))
    aliases = dynamic_loop_buffers(trace)
    if aliases:  # one buffer per allocation site of a device loop: every copy is written until the last write
        last = {}
        for tid, site in aliases.items():
            if tid in last_write:
                last[site] = max(last.get(site, -1), last_write[tid])
        last_write = dict(last_write)
        for tid, site in aliases.items():
            if site in last:
                last_write[tid] = last[site]
    run = _Run(trace, target, sched, last_write)
    if aliases:
        records = run.deps.records
        for tid, site in aliases.items():
            if tid in records:
                records[tid] = records.setdefault(site, records[tid])
    ports = _ports(work, target)
    if concurrent:  # v2 LNC=2: one core per instance, sharing the HBM stack
        hbm = ReservationTable()
        cores = {trace.instructions[g[0]].instance: _Core(target, 0.0, ports, hbm, sched.liveness)
                 for g in groups}
        run.place_all(range(n), cores)
    elif len(groups) > 1 and _identical_instances(trace, groups):
        # Every instance does exactly the first one's work (the kernel never reads program_id): the
        # instances write the same values to the same places, and the measured grid costs one instance
        # [M] nki-samples resize_nearest: a grid of 10 such instances is within 1740 us, a tenth of what
        # ten passes over its 145 MB would take at the DMA rate. The copies take their twin's times.
        first = groups[0]
        run.place_all(first, {trace.instructions[first[0]].instance: _Core(target, 0.0, ports, None,
                                                                           sched.liveness)})
        start, end, issue = sched.start, sched.end, sched.issue
        for group in groups[1:]:
            for pos, twin in zip(group, first):
                start[pos], end[pos], issue[pos] = start[twin], end[twin], issue[twin]
        sched.repeated_instances = len(groups) - 1
    else:  # v1 SPMD instances run one after another on one core [D] PM1
        t0 = 0.0
        for group in groups:
            if not group:  # an empty trace: nothing to place
                continue
            core = _Core(target, t0, ports, None, sched.liveness)
            run.place_all(group, {trace.instructions[group[0]].instance: core})
            t0 = max(t0, max(map(sched.end.__getitem__, group)))
    sched.makespan_ns = max(sched.end, default=0.0)
    sched.busy_ns.update(run.busy)
    sched.count.update(run.count)
    _count_dmas(sched, run.dma_done, [plan[0] for plan in run.dma_plans.values()])
    return sched


def _count_dmas(sched: Schedule, costs: list[DmaCost], shapes: list[DmaCost]) -> None:
    """Add up the cost of every scheduled DMA: ``costs`` in program order, ``shapes`` the distinct
    ones (DMAs of one shape share their cost object) in order of first use."""
    uses = Counter(map(id, costs))
    for cost in shapes:  # integers: count each shape once
        n = uses[id(cost)]
        sched.dma_transfers += cost.transfers * n
        sched.dma_bytes += cost.nbytes * n
        sched.dma_descriptors += cost.descriptors * n
        sched.hbm_read += cost.hbm_read * n
        sched.hbm_write += cost.hbm_write * n
        sched.hbm_stream += cost.hbm_stream * n
        sched.count[cost.trigger_engine] += n
    # Floats: each queue engine's busy time adds its DMAs one at a time in program order, so the
    # sums round as they would adding them as they are scheduled.
    trigger_ns = list(map(attrgetter("trigger_ns"), costs))
    trigger_engines = list(map(attrgetter("trigger_engine"), costs))
    busy = sched.busy_ns
    for engine in dict.fromkeys(cost.trigger_engine for cost in shapes):
        busy[engine] = reduce(add, compress(trigger_ns, map(engine.__eq__, trigger_engines)), busy[engine])
    sched.dma_instructions = len(costs)


def _allocate(pools: dict[str, CapacityPool], allocs: list, ready: float, pred: int, reason: int) -> tuple:
    """Take the on-chip space an instruction allocates: it may wait for frees (run-ahead bound)."""
    for buf, nbytes in allocs:
        pool = pools.get(buf)
        if pool is not None:
            t, p = pool.allocate(nbytes, ready)
            if t > ready:
                ready, pred, reason = t, p, CAPACITY
    return ready, pred, reason


class _Run:
    """State of one scheduling pass shared by all cores."""

    def __init__(self, trace: Trace, target: Target, sched: Schedule, last_write: dict[int, int]):
        self.instrs = trace.instructions
        self.target = target
        self.sched = sched
        self.deps = deps = DependencyTracker(trace.tensors, target.cal.semaphore_ns, last_write)
        self.last_write = last_write
        self.live = sched.liveness
        self.sem = target.cal.semaphore_ns
        self.dma_plans: dict = {}  # dma_cost_key -> _dma_plan
        self.mm_times: dict = {}  # matmul shape -> _matmul_ns
        self.dma_latency = target.cal.dma_fixed_latency_ns
        self.dma_done: list = []  # cost of every scheduled DMA, summed at the end
        # Compute engines' active ns and instruction counts: plain dicts (quicker than Counters) until the end.
        self.busy: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.ghz = {e: target.clock_ghz(e) for e in ("pe", "dve", "act", "pool", "sp")}
        # Clocks that turn busy cycles into ns, scaled by the calibration's engine factors.
        cal = target.cal
        scale = {"pe": cal.pe_cycle_scale, "dve": cal.compute_cycle_scale * cal.dve_cycle_scale,
                 "act": cal.compute_cycle_scale * cal.act_cycle_scale,
                 "pool": cal.compute_cycle_scale * cal.pool_cycle_scale}
        self.busy_ghz = {e: g / scale.get(e, 1.0) for e, g in self.ghz.items()}
        # Fixed engine time of every instruction (calibration; 0 by default).
        self.per_instruction = {"pe": cal.pe_instruction_ns, "dve": cal.dve_instruction_ns,
                                "act": cal.act_instruction_ns, "pool": cal.pool_instruction_ns}
        self.extra_latency = 0.0  # set by _compute for the instruction just placed
        self.latency = {e: target.cal.result_latency_cycles.get(e, 0) / g for e, g in self.ghz.items()}
        # Bound once: looked up for every instruction. Allocation events matter only to capacity pools.
        self.alloc_at, self.free_at = self.live.allocations() if _pooled(target, self.live) else ({}, {})
        self.spill_at = self.live.spill_at
        self.ready = deps.ready
        self.record = deps.record
        self.issue, self.start, self.end = sched.issue, sched.start, sched.end
        self.shapes: dict = {}  # access geometry -> its region
        self.shared = recomputed(trace)  # recomputation -> the instruction whose result it repeats
        # Dependencies a kernel added with NkiInstruction.depends_on: consumer position -> producer positions.
        self.explicit = {ins.seq: ins.attrs["after"] for ins in self.instrs
                         if ins.attrs is not None and "after" in ins.attrs}

    def place_all(self, positions: Iterable[int], cores: dict[int, _Core]) -> None:
        """Schedule the instructions at ``positions``, in this order, each on its instance's core."""
        instrs, last_write, shapes, tracked = self.instrs, self.last_write, self.shapes, self.deps.records
        ready_after, record, sem, latency = self.ready, self.record, self.sem, self.latency
        alloc_at, free_at, spill_at = self.alloc_at, self.free_at, self.spill_at
        explicit = self.explicit
        only = next(iter(cores.values())) if len(cores) == 1 else None
        for pos in positions:
            ins = instrs[pos]
            core = only or cores[ins.instance]
            engine, opcode, srcs, dsts = ins.engine, ins.opcode, ins.src, ins.dst
            # (records, box, written) of tracked tensors as DependencyTracker takes them, boxes
            # shared per geometry (see _box); plain loops, as a comprehension costs a frame per
            # call on 3.11
            regions = []
            for a in srcs:
                last = last_write.get(a.tensor)
                if last is not None:
                    records = tracked[a.tensor]
                    shape = (a.buffer, a.partition_start, a.partitions, a.partition_stride, a.offset, a.pattern)
                    regions.append((records, shapes.get(shape) or self._box(shape, a),
                                    None if last <= pos and records.__class__ is list else False))
            is_mm = opcode == "MATMUL"
            chain = is_mm and bool(ins.attrs and ins.attrs.get("accumulate"))
            for a in dsts:
                records = tracked.get(a.tensor)
                if records is not None:
                    shape = (a.buffer, a.partition_start, a.partitions, a.partition_stride, a.offset, a.pattern)
                    regions.append((records, shapes.get(shape) or self._box(shape, a), True))
            ready, pred = ready_after(engine, regions, chain)
            reason = DEPENDENCY if pred >= 0 else START
            if explicit and pos in explicit:  # nisa calls' .depends_on(...): wait for those producers too
                for p in explicit[pos]:
                    t = self.end[p] + sem
                    if t > ready:
                        ready, pred, reason = t, p, DEPENDENCY
            if ready < core.t0:
                ready, pred, reason = core.t0, -1, START
            pools = core.pools
            if pools and pos in alloc_at:
                ready, pred, reason = _allocate(pools, alloc_at[pos], ready, pred, reason)
            if spill_at and pos in spill_at:
                t = self._spill(pos, core, ready)
                if t > ready:
                    ready, reason = t, SPILL
            if opcode == "DMA" and srcs and dsts:
                end = self._dma(pos, ins, core, ready, pred, reason)
                visible = end + sem
                record(pos, "dma", regions, end, visible, visible, False)
            else:
                end = self._compute(pos, ins, core, ready, pred, reason, is_mm)
                visible = end + latency.get(engine, 0.0)
                if self.extra_latency:  # a tiny instruction's static overhead (costs.engine_timing)
                    visible += self.extra_latency
                    self.extra_latency = 0.0
                record(pos, engine, regions, end, visible, visible + sem, is_mm and engine == "pe")
            if pools and pos in free_at:
                for buf, nbytes in free_at[pos]:
                    pool = pools.get(buf)
                    if pool is not None:
                        pool.release(nbytes, end, pos)

    def _box(self, shape: tuple, a) -> tuple:
        """The region of an access whose geometry (everything ``region`` reads) is new. Accesses
        with the same geometry share one box object, which makes equal regions cheap to compare."""
        box = self.shapes[shape] = region(a)
        return box

    def _spill(self, pos: int, core: _Core, ready: float) -> float:
        """Evict to HBM before this allocation fits; the reload is background DMA traffic."""
        target, sched = self.target, self.sched
        nbytes = self.live.spill_at[pos] * target.sbuf_partitions
        d = bulk_transfer_ns(nbytes, target)
        _, saved, _ = core.tables["dma"].fill(ready, d, pos)
        core.tables["dma"].fill(saved, d, pos)  # the reload, before the evicted data's next use
        sched.spill_ns += 2 * d
        sched.hbm_read += nbytes
        sched.hbm_write += nbytes
        sched.hbm_stream += 2 * nbytes
        return saved

    def _dma_plan(self, key: tuple, ins) -> tuple:
        """(cost, hbm bytes, duration floor, DMA-engine occupancy) of DMAs shaped like ``ins``."""
        target = self.target
        cost = dma_cost(ins, target)
        hbm_bytes = cost.hbm_read + cost.hbm_write
        hbm_ns = hbm_bytes / target.hbm_gbps_per_nc
        plan = self.dma_plans[key] = (cost, hbm_bytes, max(cost.engine_ns, hbm_ns),
                                      max(cost.engines * cost.engine_ns / target.dma_engines, hbm_ns))
        return plan

    def _dma(self, pos, ins, core: _Core, ready, pred, reason) -> float:
        sched = self.sched
        key = dma_cost_key(ins)  # loop iterations repeat a few DMA shapes
        cost, hbm_bytes, duration, occupancy = self.dma_plans.get(key) or self._dma_plan(key, ins)
        trigger_ns = cost.trigger_ns
        ts, owner = core.tables[cost.trigger_engine].place(ready, trigger_ns, pos)
        if ts > ready:
            pred, reason = owner, ENGINE_BUSY
        self.dma_done.append(cost)
        data_ready = ts + trigger_ns + self.dma_latency
        s, filled, owner = core.dma.fill(data_ready, occupancy, pos)
        if s > data_ready:
            pred, reason = owner, DMA_BANDWIDTH
        if filled - s > duration:
            duration = filled - s
        if core.hbm is not None:  # cores on one HBM stack: the bytes also need the stack's time
            _, hbm_end, owner = core.hbm.fill(s, hbm_bytes / self.target.hbm_gbps_per_stack, pos)
            if hbm_end > s + duration:
                duration = hbm_end - s
                pred, reason = owner, DMA_BANDWIDTH
        end = s + duration
        self.issue[pos], self.start[pos], self.end[pos] = ts, s, end
        sched.pred[pos], sched.reason[pos] = pred, reason
        sched.dma_intervals.append((s, end))
        return end

    def _compute(self, pos, ins, core: _Core, ready, pred, reason, is_mm: bool) -> float:
        sched = self.sched
        engine = ins.engine
        original = self.shared.get(pos) if self.shared else None
        if original is not None:  # the compiler keeps the first result: no engine time, ready with it
            end = self.end[original]
            if end > ready:
                ready, pred, reason = end, original, DEPENDENCY
            self.issue[pos] = self.start[pos] = self.end[pos] = ready
            sched.pred[pos], sched.reason[pos] = pred, reason
            sched.recomputed += 1
            return ready
        if is_mm and engine == "pe":
            table, tables = core.tables["pe"], None  # the Tensor engine shares no SRAM port
            d = self._matmul_ns(ins, core, table, ready)
        else:
            if engine not in self.ghz:
                sched.unknown[f"{ins.opcode}@{engine}"] += 1
                engine = "sp"
            cycles, extra, known = engine_timing(ins, self.target)
            if not known:
                sched.unknown[f"{ins.opcode}@{engine}"] += 1
            d = cycles / self.busy_ghz[engine] + self.per_instruction.get(engine, 0.0)
            if extra:
                self.extra_latency = extra / self.ghz[engine]
            table = core.tables[engine]
            # None: the engine's own table is all it needs
            tables = _engine_tables(core, ins, engine) if core.ports and engine in _PORTED else None
            if engine == "pe":
                core.stationary = None  # a transpose replaces the stationary tile
        if tables is None and (engine != "pe" or core.throttle is None):
            s, owner = table.place(ready, d, pos)
        else:
            tables = tables or [table]
            s, owner = find_common(tables, ready, d)
            if engine == "pe" and core.throttle is not None:
                d_throttled = core.throttle.stretch(s, d)
                if d_throttled > d + 1e-9:
                    s, owner = find_common(tables, ready, d_throttled)
                    d_throttled = core.throttle.stretch(s, d)
                core.throttle.commit(s, d, d_throttled)
                sched.throttle_extra_ns = core.throttle.extra_ns
                d = d_throttled
            for tab in tables:
                tab.reserve(s, s + d, pos)
        if s > ready + 1e-9:
            pred, reason = owner, ENGINE_BUSY
        end = s + d
        self.issue[pos] = self.start[pos] = s
        self.end[pos] = end
        sched.pred[pos], sched.reason[pos] = pred, reason
        busy, count = self.busy, self.count
        busy[engine] = busy.get(engine, 0) + d
        count[engine] = count.get(engine, 0) + 1
        return end

    def _matmul_ns(self, ins, core: _Core, table: ReservationTable, ready: float) -> float:
        """A matmul's MultiplyMoving plus the exposed part of its LoadStationary (none when the
        stationary is reused; hidden under the previous MM when back to back [D] ARCH1)."""
        attrs = ins.attrs or {}
        # What matmul_cycles and load_stationary_cycles read.
        shape = (attrs.get("stationary_elems", ins.partitions), attrs.get("moving_elems", ins.elems),
                 attrs.get("fp32"), attrs.get("onezero"))
        d, ls = self.mm_times.get(shape) or self._matmul_times(shape, ins)
        d += self.per_instruction["pe"]
        key = attrs.get("stationary_key")
        if key is not None and key == core.stationary:
            self.sched.stationary_reused += 1
        else:
            self.sched.load_stationary += 1
            s, _ = table.find(ready, d)
            if table.ends and abs(s - table.ends[-1]) < 1e-6:  # back to back: the last MM hides some
                if ls > core.last_mm_ns:
                    d += ls - core.last_mm_ns
            else:
                d += ls
        core.stationary = key
        core.last_mm_ns = d
        return d

    def _matmul_times(self, shape: tuple, ins) -> tuple[float, float]:
        """(MultiplyMoving, LoadStationary) ns of matmuls of this shape."""
        ghz = self.busy_ghz["pe"]
        times = self.mm_times[shape] = (matmul_cycles(ins, self.target) / ghz,
                                        load_stationary_cycles(ins, self.target) / ghz)
        return times


def critical_path(sched: Schedule) -> list[int]:
    """Positions from the first to the last instruction of the chain that set the latency."""
    if not sched.end:
        return []
    pos = sched.end.index(max(sched.end))  # the first that ends last
    path, pred = [], sched.pred
    append = path.append
    while pos >= 0:
        append(pos)
        nxt = pred[pos]
        pos = nxt if nxt < pos else -1  # predecessors are always earlier in program order
    path.reverse()
    return path


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """Total time covered by a set of intervals."""
    total, cur_s, cur_e = 0.0, 0.0, -math.inf
    for s, e in sorted(intervals):
        if s > cur_e:
            if cur_e > cur_s:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_e > cur_s:
        total += cur_e - cur_s
    return total
