"""The execution context of one simulated kernel call.

Holds the target's record (``ctx.spec``: what the hardware can do, its limits), the trace
being recorded, whether values are computed (``numerics=False`` traces shapes only), the
SPMD position, and the loop stack.
One context is active per thread at a time.
"""

from __future__ import annotations

import gc
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from autocomp import targets
from autocomp.nki.errors import raise_error
from autocomp.nki.trace import LoopFrame, Trace
from autocomp.targets import Target

# The environment variable the Neuron tools read for the target of kernels that do not name one.
TARGET_ENV = "NEURON_PLATFORM_TARGET_OVERRIDE"


def target_record(name: str | Target | None) -> Target:
    """The record of target ``name`` (a name or alias, any case, or a record itself); ``None`` reads
    NEURON_PLATFORM_TARGET_OVERRIDE, else the default target. Unknown names raise ValueError."""
    if isinstance(name, Target):
        return name
    if name is None:
        name = os.environ.get(TARGET_ENV) or targets.DEFAULT_TARGET
    return targets.get(name)


def normalize_target(name: str | None) -> str:
    """The registered name of target ``name`` (aliases such as inf2/gen3 resolve); ``None`` as in target_record."""
    return target_record(name).name


@dataclass
class KernelContext:
    spec: Target = field(default_factory=targets.get)  # the target's record; the simulator asks it, never the name
    dialect: str = "v1"
    nki_version: str = ""  # the v2 release modelled for this run ("0.7"); "" for v1 (autocomp/nki/versions.py)
    numerics: bool = True
    strict: bool = False
    grid: tuple[int, ...] = ()
    program_id: tuple[int, ...] = ()
    instance: int = 0
    trace: Trace = field(default_factory=Trace)
    loop: int = 0
    active_loops: set = field(default_factory=set)
    loop_stack: list = field(default_factory=list)  # ids of the loop constructs we are inside, outermost first
    shared_allocs: list = field(default_factory=list)  # shared_hbm tensors, reused across SPMD instances
    shared_cursor: int = 0
    next_loop_id: int = 1
    next_tensor_id: int = 1
    depth: int = 0  # nesting of sub-kernel calls
    # v1 parameters written without nt.mutable_tensor: id(allocation) -> (allocation, (file, line) of the
    # first write). Legal only in the legacy convention of a kernel that returns nothing (kernel.py).
    output_params: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        """The target's name, as the trace records it."""
        return self.spec.name

    # Loops -------------------------------------------------------------
    def enter_loop(self, kind: str, trip_count: int) -> int:
        loop_id = self.next_loop_id
        self.next_loop_id += 1
        self.active_loops.add(loop_id)
        self.loop_stack.append(loop_id)
        return loop_id

    def set_iteration(self, parent: int, loop_id: int, kind: str, iteration: int, trip_count: int) -> None:
        frames = self.trace.loops
        frames.append(LoopFrame(parent, loop_id, kind, iteration, trip_count))
        self.loop = len(frames) - 1

    def exit_loop(self, loop_id: int, parent: int) -> None:
        self.active_loops.discard(loop_id)
        if self.loop_stack and self.loop_stack[-1] == loop_id:
            self.loop_stack.pop()
        self.loop = parent


_state = threading.local()


def current() -> KernelContext:
    """The active context; NKI APIs outside a kernel raise err_nki_api_outside_of_nki_kernel."""
    ctx = getattr(_state, "ctx", None)
    if ctx is None:
        raise_error("err_nki_api_outside_of_nki_kernel",
                    "NKI APIs can only run inside a kernel; decorate the function with @nki.jit and call it, "
                    "or run it with nki.simulate_kernel(kernel, *arrays)")
    return ctx


def current_or_none() -> KernelContext | None:
    return getattr(_state, "ctx", None)


def activate(ctx: KernelContext | None) -> KernelContext | None:
    previous = getattr(_state, "ctx", None)
    _state.ctx = ctx
    return previous


@contextmanager
def cyclic_gc_paused():
    """Pause the cyclic garbage collector while tracing or scheduling: both allocate many small objects per
    instruction and keep a 10^5-instruction trace alive, so the collector would re-walk it over and over for
    nothing (neither forms reference cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                # The objects made meanwhile are long-lived (a trace, a schedule). Left young, the first allocation
                # after gc.enable() would scan them all (~0.1 s per 10^5 instructions); freeze + unfreeze moves them
                # straight to the oldest generation without a scan, where full collections still reach them. Not
                # when the process froze objects itself (e.g. before forking workers): unfreeze would undo that.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def loop_range(kind: str, args: tuple, api: str):
    """Iterate like ``range(*args)`` while recording loop frames for the trace."""
    ctx = current()
    r = range(*[int(a) for a in args])
    trip = len(r)
    parent = ctx.loop
    loop_id = ctx.enter_loop(kind, trip)
    start = len(ctx.trace.instructions)
    first_tensor = ctx.next_tensor_id
    finished = False
    try:
        for it, value in enumerate(r):
            ctx.set_iteration(parent, loop_id, kind, it, trip)
            yield value
        finished = True
    finally:
        ctx.exit_loop(loop_id, parent)
    if finished and kind == "affine" and ctx.dialect == "v1" and trip > 1:
        check_affine_writes(ctx, start, loop_id, first_tensor)


def check_affine_writes(ctx: KernelContext, start: int, loop_id: int, first_tensor: int) -> None:
    """An affine_range may not write one location from several iterations unless it accumulates.

    Only tensors that outlive the loop matter (allocated before it); ``+=`` accumulation
    (PSUM matmul groups, ``acc += x``) is associative and allowed.
    """
    trace = ctx.trace
    frames = trace.loops
    tensors = trace.tensors
    seen: dict[tuple, int] = {}
    for ins in trace.instructions[start:]:
        for acc in ins.dst:
            if acc.tensor < first_tensor:
                break
        else:
            continue  # writes only tensors created inside the loop (the common case)
        attrs = ins.attrs
        if attrs is not None and attrs.get("accumulate"):
            continue
        for acc in ins.dst:
            info = tensors.get(acc.tensor)
            if info is None or acc.tensor >= first_tensor or info.kind == "input":
                continue
            if any(s.tensor == acc.tensor for s in ins.src):
                continue  # read-modify-write accumulation such as acc += x
            frame = ins.loop
            while frame > 0 and frames[frame].loop_id != loop_id:
                frame = frames[frame].parent
            iteration = frames[frame].iteration
            key = (acc.tensor, acc.partition_start, acc.partitions, acc.offset, acc.pattern)
            first = seen.setdefault(key, iteration)
            if first != iteration:
                from autocomp.nki.errors import ERROR_CLASSES

                raise ERROR_CLASSES["err_unexpected_output_dependencies"](
                    f"tensor {info.name} is written at the same location in iterations {first} and {iteration} of an "
                    "nl.affine_range loop, whose iterations must be independent; use nl.sequential_range, or index "
                    "the destination by the loop variable",
                    code="err_unexpected_output_dependencies", location=(trace.files[ins.loc], ins.line))
