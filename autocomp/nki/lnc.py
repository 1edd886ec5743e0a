"""Logical-NeuronCore instances that synchronise with each other (``core_barrier``, ``sendrecv``).

``kernel[2]`` runs instance 0 to completion, then instance 1. A kernel whose instances
synchronise cannot run that way: instance 0 would wait at a barrier for an instance that
has not started. Such a kernel is run again cooperatively (``run_kernel`` catches
``NeedsCooperation``): each instance runs in a thread of its own, exactly one at a time;
an instance runs until it reaches a synchronisation point, then the next runnable one
runs. The trace records each instance's instructions in an order the two cores can
reach them, so the cost model sees every instruction after the barrier following the
other core's work before it. Kernels that never synchronise are never run this way,
so their traces are exactly the sequential ones.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter

from autocomp.nki.errors import ERROR_CLASSES
from autocomp.nki.runtime import KernelContext, activate, current

# The context fields that belong to one running instance, swapped when another instance runs.
_PER_INSTANCE = ("program_id", "instance", "shared_cursor", "depth", "loop", "loop_stack", "active_loops")


class NeedsCooperation(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """A synchronisation point was reached in a sequential run: run the kernel again cooperatively.

    A BaseException, so that a kernel's own ``except Exception`` cannot swallow it."""


class _Abort(BaseException):  # noqa: N818 - unwinds the other instances' threads after an error
    pass


def sync_point(api: str):
    """The running cooperative scheduler; in a sequential run of several instances, restart cooperatively."""
    ctx = current()
    coop = getattr(ctx, "cooperative", None)
    if coop is None:
        if len(ctx.grid) == 1 and ctx.grid[0] > 1:
            raise NeedsCooperation(api)
        return None
    return coop


class Cooperative:
    """Runs the instances of one kernel call in threads, one at a time, switching at rendezvous points."""

    def __init__(self, ctx: KernelContext, points: list[tuple[int, ...]]):
        self.ctx, self.points = ctx, points
        n = len(points)
        self.cond = threading.Condition()
        self.holder: int | None = 0
        self.state = ["ready"] * n  # ready | waiting | done
        self.saved: list[dict | None] = [None] * n
        self.arrivals: dict[tuple, dict[int, object]] = {}
        self.inbox: dict[int, dict[int, object]] = {}
        self.waiting_at: list[str | None] = [None] * n
        self.calls: Counter = Counter()
        self.error: BaseException | None = None
        self.results: list = [None] * n
        ctx.cooperative = self

    # ------------------------------------------------------------------ running
    def run(self, call) -> list:
        """``call(instance)`` for every instance; their results in instance order, or the first error raised."""
        threads = [threading.Thread(target=self._main, args=(i, call), daemon=True, name=f"nki-lnc-{i}")
                   for i in range(len(self.points))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.ctx.cooperative = None
        if self.error is not None:
            raise self.error
        return self.results

    def _main(self, i: int, call) -> None:
        activate(self.ctx)
        try:
            with self.cond:
                self._wait_turn(i)
                self._enter(i)
            self.results[i] = call(i)
            with self.cond:
                self.state[i] = "done"
                self._switch(i)
        except _Abort:
            pass
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            with self.cond:
                if self.error is None:
                    self.error = e
                self.holder = None
                self.cond.notify_all()
        finally:
            activate(None)

    def _wait_turn(self, i: int) -> None:
        while self.holder != i:
            if self.error is not None:
                raise _Abort
            self.cond.wait()
        if self.error is not None:
            raise _Abort

    def _enter(self, i: int) -> None:
        """Make the context instance ``i``'s: its saved fields, or a fresh start."""
        ctx, saved = self.ctx, self.saved[i]
        if saved is None:
            saved = {"program_id": self.points[i], "instance": i, "shared_cursor": 0, "depth": 1, "loop": 0,
                     "loop_stack": [], "active_loops": set()}
        for k in _PER_INSTANCE:
            setattr(ctx, k, saved[k])

    def _save(self, i: int) -> None:
        self.saved[i] = {k: getattr(self.ctx, k) for k in _PER_INSTANCE}

    def _switch(self, i: int) -> None:
        """Instance ``i`` stops running (it waits or is done): hand over to the next runnable instance."""
        n = len(self.state)
        for step in range(1, n + 1):
            j = (i + step) % n
            if self.state[j] == "ready":
                self.holder = j
                self.cond.notify_all()
                return
        waiting = [j for j in range(n) if self.state[j] == "waiting"]
        self.holder = None
        if waiting:
            j = waiting[0]
            cls = ERROR_CLASSES["err_unsupported_operation"]
            self.error = cls(f"logical core {j} waits at {self.waiting_at[j]}, which the other core never reaches "
                             "(it finished, or waits elsewhere): every core of kernel[2] must make the same "
                             "synchronisation calls in the same order", code="err_unsupported_operation")
        self.cond.notify_all()

    # ------------------------------------------------------------------ synchronising
    def rendezvous(self, kind: str, key, payload, group: tuple[int, ...], what: str) -> tuple[dict, bool]:
        """Wait until every instance of ``group`` has made its next ``kind``/``key`` call: (their payloads by
        instance, whether this instance arrived last).

        The last instance to arrive returns at once and keeps running (it may act for the others, which still
        wait, through ``acting_as``); the others resume later, in turn."""
        ctx = self.ctx
        i = ctx.instance
        with self.cond:
            self.calls[(i, kind, key)] += 1
            point = (kind, key, self.calls[(i, kind, key)], group)
            arrived = self.arrivals.setdefault(point, {})
            arrived[i] = payload
            if all(g in arrived for g in group):
                del self.arrivals[point]
                for g in group:
                    if g != i:
                        self.inbox[g] = arrived
                        self.state[g] = "ready"
                        self.waiting_at[g] = None
                return arrived, True
            self.state[i], self.waiting_at[i] = "waiting", what
            self._save(i)
            self._switch(i)
            self._wait_turn(i)
            self._enter(i)
            return self.inbox.pop(i), False

    @contextlib.contextmanager
    def acting_as(self, i: int):
        """Record instructions as instance ``i`` (a waiting instance) while the running instance acts for it."""
        ctx = self.ctx
        mine = {k: getattr(ctx, k) for k in _PER_INSTANCE}
        other = self.saved[i]
        try:
            if other is not None:
                for k in _PER_INSTANCE:
                    setattr(ctx, k, other[k])
            yield
        finally:
            for k, v in mine.items():
                setattr(ctx, k, v)
