"""Schedule a trace on a model of one NeuronCore (NKI_SPEC §4.5).

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
from dataclasses import dataclass, field

from autocomp.nki.runtime import cyclic_gc_paused
from autocomp.nki.trace import PSUM, SBUF, Trace
from autocomp.perf.costs import engine_cycles, load_stationary_cycles
from autocomp.perf.deps import DependencyTracker, region
from autocomp.perf.dma import bulk_transfer_ns, cached_dma_cost
from autocomp.perf.memory import CapacityPool, Liveness, analyse
from autocomp.perf.resources import ReservationTable, TensorThrottle, find_common
from autocomp.perf.targets import Target

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
    load_stationary: int = 0
    stationary_reused: int = 0
    throttle_extra_ns: float = 0.0
    unknown: Counter = field(default_factory=Counter)  # opcode@engine without a cost formula
    liveness: Liveness | None = None
    spill_ns: float = 0.0


# Capacity is tracked over time only where it can bind: when the program-order peak is
# below 1/HEADROOM of a buffer, run-ahead is limited by the engines long before memory.
HEADROOM = {SBUF: 8, PSUM: 4}


class _Core:
    """One NeuronCore's engines, buffers and Tensor-engine state."""

    def __init__(self, target: Target, t0: float, ports: set[str], hbm: ReservationTable | None,
                 liveness: Liveness):
        self.t0 = t0
        self.tables = {e: ReservationTable() for e in ("pe", "dve", "act", "pool", "sp", "dma")}
        self.ports = {port: ReservationTable() for port in ports}
        self.hbm = hbm
        capacity = {SBUF: target.sbuf_usable_bytes, PSUM: target.psum_bytes_per_partition}
        peak = {SBUF: liveness.sbuf_peak, PSUM: liveness.psum_peak}
        self.pools = {buf: CapacityPool(cap) for buf, cap in capacity.items() if peak[buf] * HEADROOM[buf] > cap}
        self.throttle = TensorThrottle(target.cal.pe_throttle_window_ns, target.cal.pe_throttle_start) \
            if target.pe_throttle else None
        self.stationary = None
        self.last_mm_ns = 0.0


def _ports(trace: Trace, target: Target) -> set[str]:
    """Shared SRAM ports that matter for this trace (NC-v2: DVE/POOL on SBUF, DVE/ACT on PSUM)."""
    if not target.shared_sram_ports:
        return set()
    ports = set()
    for ins in trace.instructions:
        if ins.engine == "pool" and any(a.buffer == SBUF for a in ins.src + ins.dst):
            ports.add("sbuf_port")
        elif ins.engine == "act" and any(a.buffer == PSUM for a in ins.src + ins.dst):
            ports.add("psum_port")
    return ports


def _engine_tables(core: _Core, ins, engine: str) -> list[ReservationTable]:
    """The engine's table, plus the shared SRAM ports this instruction needs on NC-v2."""
    tables = [core.tables[engine]]
    ports = core.ports
    if ports:
        buffers = {a.buffer for a in ins.src + ins.dst}
        if engine in ("dve", "pool") and "sbuf_port" in ports and SBUF in buffers:
            tables.append(ports["sbuf_port"])
        if engine in ("dve", "act") and "psum_port" in ports and PSUM in buffers:
            tables.append(ports["psum_port"])
    return tables


def _instance_groups(trace: Trace) -> tuple[list[list[int]], bool]:
    """Positions per SPMD instance, and whether the instances run concurrently (v2 LNC=2)."""
    instances = sorted({ins.instance for ins in trace.instructions})
    if len(instances) <= 1:
        return [list(range(len(trace.instructions)))], False
    groups: dict[int, list[int]] = {i: [] for i in instances}
    for pos, ins in enumerate(trace.instructions):
        groups[ins.instance].append(pos)
    return [groups[i] for i in instances], trace.dialect == "v2"


def schedule(trace: Trace, target: Target) -> Schedule:
    """Schedule ``trace`` on ``target``; see the module docstring for the model."""
    with cyclic_gc_paused():
        return _schedule(trace, target)


def _schedule(trace: Trace, target: Target) -> Schedule:
    n = len(trace.instructions)
    sched = Schedule([0.0] * n, [0.0] * n, [0.0] * n, [-1] * n, [START] * n)
    sched.liveness = analyse(trace, target)
    written = {a.tensor for ins in trace.instructions for a in ins.dst}
    run = _Run(trace, target, sched, DependencyTracker(trace.tensors, target.cal.semaphore_ns, written), written)
    groups, concurrent = _instance_groups(trace)
    ports = _ports(trace, target)
    if concurrent:  # v2 LNC=2: one core per instance, sharing the HBM stack
        hbm = ReservationTable()
        cores = {trace.instructions[g[0]].instance: _Core(target, 0.0, ports, hbm, sched.liveness)
                 for g in groups}
        for pos in range(n):
            run.place(pos, cores[trace.instructions[pos].instance])
    else:  # v1 SPMD instances run one after another on one core
        t0 = 0.0
        for group in groups:
            core = _Core(target, t0, ports, None, sched.liveness)
            for pos in group:
                run.place(pos, core)
            t0 = max([t0] + [sched.end[p] for p in group])
    sched.makespan_ns = max(sched.end, default=0.0)
    for cost in run.dma_done:
        sched.dma_transfers += cost.transfers
        sched.dma_bytes += cost.nbytes
        sched.dma_descriptors += cost.descriptors
        sched.hbm_read += cost.hbm_read
        sched.hbm_write += cost.hbm_write
        sched.busy_ns[cost.trigger_engine] += cost.trigger_ns
        sched.count[cost.trigger_engine] += 1
    sched.dma_instructions = len(run.dma_done)
    return sched


class _Run:
    """State of one scheduling pass shared by all cores."""

    def __init__(self, trace: Trace, target: Target, sched: Schedule, deps: DependencyTracker, written: set[int]):
        self.instrs = trace.instructions
        self.target = target
        self.sched = sched
        self.deps = deps
        self.written = written
        self.live = sched.liveness
        self.sem = target.cal.semaphore_ns
        self.dma_cache: dict = {}
        self.dma_terms: dict = {}  # id(DmaCost) -> _dma_terms
        self.dma_latency = target.cal.dma_fixed_latency_ns
        self.dma_done: list = []  # cost of every scheduled DMA, summed at the end
        self.ghz = {e: target.clock_ghz(e) for e in ("pe", "dve", "act", "pool", "sp")}
        self.latency = {e: target.cal.result_latency_cycles.get(e, 0) / g for e, g in self.ghz.items()}
        # Bound once: looked up for every instruction.
        self.alloc_at = self.live.alloc_at
        self.free_at = self.live.free_at
        self.spill_at = self.live.spill_at
        self.ready = deps.ready
        self.record = deps.record

    def place(self, pos: int, core: _Core) -> None:
        """Schedule one instruction."""
        ins = self.instrs[pos]
        engine = ins.engine
        written = self.written
        src_regions, dst_regions = [], []  # plain loops: a comprehension costs a frame per call on 3.11
        for a in ins.src:
            if a.tensor in written:
                src_regions.append((a.tensor, region(a)))
        for a in ins.dst:
            if a.tensor in written:
                dst_regions.append((a.tensor, region(a)))
        is_mm = ins.opcode == "MATMUL"
        chain = is_mm and bool(ins.attrs and ins.attrs.get("accumulate"))
        ready, pred = self.ready(engine, src_regions, dst_regions, chain)
        reason = DEPENDENCY if pred >= 0 else START
        if ready < core.t0:
            ready, pred, reason = core.t0, -1, START
        pools = core.pools
        allocs = self.alloc_at.get(pos) if pools else None
        if allocs:
            for buf, nbytes in allocs:
                pool = pools.get(buf)
                if pool is not None:
                    t, p = pool.allocate(nbytes, ready)
                    if t > ready:
                        ready, pred, reason = t, p, CAPACITY
        if self.spill_at and pos in self.spill_at:
            t = self._spill(pos, core, ready)
            if t > ready:
                ready, reason = t, SPILL
        if ins.opcode == "DMA" and ins.src and ins.dst:
            end = self._dma(pos, ins, core, ready, pred, reason)
            visible = end + self.sem
            self.record(pos, "dma", src_regions, dst_regions, end, visible, visible, False)
        else:
            end = self._compute(pos, ins, core, ready, pred, reason, is_mm)
            visible = end + self.latency.get(engine, 0.0)
            self.record(pos, engine, src_regions, dst_regions, end, visible, visible + self.sem,
                        is_mm and engine == "pe")
        frees = self.free_at.get(pos) if pools else None
        if frees:
            for buf, nbytes in frees:
                pool = pools.get(buf)
                if pool is not None:
                    pool.release(nbytes, end, pos)

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
        return saved

    def _dma_terms(self, cost) -> tuple:
        """(hbm bytes, duration floor, DMA-engine occupancy) of a DMA cost."""
        target = self.target
        hbm_bytes = cost.hbm_read + cost.hbm_write
        hbm_ns = hbm_bytes / target.hbm_gbps_per_nc
        terms = (hbm_bytes, max(cost.engine_ns, hbm_ns),
                 max(cost.engines * cost.engine_ns / target.dma_engines, hbm_ns))
        self.dma_terms[id(cost)] = terms
        return terms

    def _dma(self, pos, ins, core: _Core, ready, pred, reason) -> float:
        sched = self.sched
        cost = cached_dma_cost(ins, self.target, self.dma_cache)
        ts, owner = core.tables[cost.trigger_engine].place(ready, cost.trigger_ns, pos)
        if ts > ready:
            pred, reason = owner, ENGINE_BUSY
        self.dma_done.append(cost)
        terms = self.dma_terms.get(id(cost))  # costs stay alive in dma_cache, so ids are stable
        hbm_bytes, duration, occupancy = terms if terms is not None else self._dma_terms(cost)
        data_ready = ts + cost.trigger_ns + self.dma_latency
        s, filled, owner = core.tables["dma"].fill(data_ready, occupancy, pos)
        if s > data_ready:
            pred, reason = owner, DMA_BANDWIDTH
        duration = max(duration, filled - s)
        if core.hbm is not None:  # cores on one HBM stack: the bytes also need the stack's time
            _, hbm_end, owner = core.hbm.fill(s, hbm_bytes / self.target.hbm_gbps_per_stack, pos)
            if hbm_end > s + duration:
                duration = hbm_end - s
                pred, reason = owner, DMA_BANDWIDTH
        end = s + duration
        sched.issue[pos], sched.start[pos], sched.end[pos] = ts, s, end
        sched.pred[pos], sched.reason[pos] = pred, reason
        sched.dma_intervals.append((s, end))
        return end

    def _compute(self, pos, ins, core: _Core, ready, pred, reason, is_mm: bool) -> float:
        target, sched = self.target, self.sched
        engine = ins.engine
        if engine not in self.ghz:
            sched.unknown[f"{ins.opcode}@{engine}"] += 1
            engine = "sp"
        cycles, known = engine_cycles(ins, target)
        if not known:
            sched.unknown[f"{ins.opcode}@{engine}"] += 1
        ghz = self.ghz[engine]
        d = cycles / ghz
        tables = _engine_tables(core, ins, engine) if core.ports else [core.tables[engine]]
        table = tables[0]
        if engine == "pe":
            if is_mm:
                d = self._load_stationary(ins, core, table, tables, ready, d, ghz)
            else:
                core.stationary = None  # a transpose replaces the stationary tile
        if len(tables) == 1 and (engine != "pe" or core.throttle is None):
            s, owner = table.place(ready, d, pos)
        else:
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
        sched.issue[pos] = sched.start[pos] = s
        sched.end[pos] = end
        sched.pred[pos], sched.reason[pos] = pred, reason
        sched.busy_ns[engine] += d
        sched.count[engine] += 1
        return end

    def _load_stationary(self, ins, core: _Core, table, tables, ready, d: float, ghz: float) -> float:
        """MM duration plus the exposed part of its LoadStationary (none when the stationary is reused;
        hidden under the previous MM when back to back [D] ARCH1)."""
        key = (ins.attrs or {}).get("stationary_key")
        if key is not None and key == core.stationary:
            self.sched.stationary_reused += 1
        else:
            self.sched.load_stationary += 1
            ls = load_stationary_cycles(ins, self.target) / ghz
            s, _ = table.find(ready, d) if len(tables) == 1 else find_common(tables, ready, d)
            back_to_back = bool(table.ends) and abs(s - table.ends[-1]) < 1e-6
            d += max(0.0, ls - core.last_mm_ns) if back_to_back else ls
        core.stationary = key
        core.last_mm_ns = d
        return d


def critical_path(sched: Schedule) -> list[int]:
    """Positions from the first to the last instruction of the chain that set the latency."""
    if not sched.end:
        return []
    pos = max(range(len(sched.end)), key=sched.end.__getitem__)
    path = []
    while pos >= 0:
        path.append(pos)
        nxt = sched.pred[pos]
        pos = nxt if nxt < pos else -1  # predecessors are always earlier in program order
    return path[::-1]


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
