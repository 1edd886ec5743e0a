"""Time on the core's resources: engines, DMA bandwidth, shared SRAM ports, the PE throttle."""

from __future__ import annotations

import math
from bisect import bisect_right

EPS = 1e-6
# How many busy intervals back an instruction may look for an idle gap. Bounds the work per
# instruction (the compiler's list scheduler also works on a bounded window).
LOOKBACK = 32


class ReservationTable:
    """Busy intervals of one resource, kept sorted and merged.

    Instructions are placed in program order into the earliest gap that fits after they
    are ready, so a later independent instruction can fill an idle gap but never delays
    an earlier one: list scheduling with program order as the priority.
    """

    __slots__ = ("starts", "ends", "owners", "_mt", "_md", "_ms", "_mo")

    def __init__(self):
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.owners: list[int] = []  # position of the instruction that ends each interval
        # Last query (t, d) and its answer (start, owner): reservations only remove free time, so
        # a query asking for at least as much, no earlier, cannot fit before that answer.
        self._mt, self._md, self._ms, self._mo = 0.0, 0.0, 0.0, -1

    def find(self, t: float, d: float) -> tuple[float, int]:
        """Earliest start >= t of a free slot of length d, and who occupied the time before it."""
        ends = self.ends
        n = len(ends)
        if n == 0 or t >= ends[-1] - EPS:
            return t, -1
        starts, owners = self.starts, self.owners
        t_query = t
        lo = n - LOOKBACK if n > LOOKBACK else 0
        owner = -1
        if lo and t < ends[lo - 1]:
            t, owner = ends[lo - 1], owners[lo - 1]
        ms = self._ms
        if t >= self._mt and d >= self._md and ms > t:
            t, owner = ms, self._mo
        i = bisect_right(ends, t + EPS, lo)
        while i < n:
            if t + d <= starts[i] + EPS:
                break
            if ends[i] > t:
                t, owner = ends[i], owners[i]
            i += 1
        self._mt, self._md, self._ms, self._mo = t_query, d, t, owner
        return t, owner

    def reserve(self, s: float, e: float, owner: int) -> None:
        if e <= s:
            return
        starts, ends, owners = self.starts, self.ends, self.owners
        if not ends or s >= ends[-1] - EPS:
            if ends and s <= ends[-1] + EPS:
                if e > ends[-1]:
                    ends[-1], owners[-1] = e, owner
            else:
                starts.append(s)
                ends.append(e)
                owners.append(owner)
            return
        i = bisect_right(starts, s)
        if i > 0 and ends[i - 1] >= s - EPS:  # touches the previous interval
            i -= 1
            if e > ends[i]:
                ends[i], owners[i] = e, owner
            starts[i] = min(starts[i], s)
        else:
            starts.insert(i, s)
            ends.insert(i, e)
            owners.insert(i, owner)
        self._swallow(i)

    def _swallow(self, i: int) -> None:
        """Merge interval i with the ones after it that it now touches."""
        starts, ends, owners = self.starts, self.ends, self.owners
        while i + 1 < len(starts) and starts[i + 1] <= ends[i] + EPS:
            if ends[i + 1] > ends[i]:
                ends[i], owners[i] = ends[i + 1], owners[i + 1]
            del starts[i + 1], ends[i + 1], owners[i + 1]

    def place(self, t: float, d: float, owner: int) -> tuple[float, int]:
        """find + reserve: start the earliest slot of length d at or after t and occupy it."""
        ends = self.ends
        if not ends or t >= ends[-1] + EPS:  # idle from t on: the common case
            self.starts.append(t)
            ends.append(t + d)
            self.owners.append(owner)
            return t, -1
        k = len(ends) - LOOKBACK - 1  # the last interval before find's search window
        if k >= 0 and t < ends[k] and t < ends[-1] - EPS:
            # t is before the window, so find would search from the end of interval k. When the
            # slot there fits (and the memo points no later), that is its answer, and reserve
            # extends interval k: do both without the search (common on busy DMA queues). Every
            # test here is one find or reserve makes on that path.
            starts = self.starts
            s = ends[k]
            memo_later = s >= self._mt and d >= self._md and self._ms > s
            if not memo_later and (s + EPS < ends[k + 1] and s + d <= starts[k + 1] + EPS and s < ends[-1] - EPS
                                   and starts[k] <= s < starts[k + 1]):
                who = self.owners[k]
                self._mt, self._md, self._ms, self._mo = t, d, s, who
                e = s + d
                if e > s:
                    ends[k], self.owners[k] = e, owner
                    if starts[k + 1] <= e + EPS:
                        self._swallow(k)
                return s, who
        s, who = self.find(t, d)
        self.reserve(s, s + d, owner)
        return s, who

    def fill(self, t: float, d: float, owner: int) -> tuple[float, float, int]:
        """Occupy d of free time from t on, across as many gaps as needed (preemptible work:
        DMA engines interleave queues descriptor by descriptor). Returns (start, end, who
        held the start back)."""
        starts, ends = self.starts, self.ends
        if not ends or t >= ends[-1] - EPS:
            self.reserve(t, t + d, owner)
            return t, t + d, -1
        s = ends[-1]
        if starts[-1] + EPS < t:
            # t inside the last busy interval (a saturated resource): the free time starts where it
            # ends. That is find(t, 0.0)'s answer when its search (from t, or from where its memo
            # points) starts inside that interval too. One piece.
            ms = self._ms
            u = ms if t >= self._mt and 0.0 >= self._md and ms > t else t
            if u + EPS < s and starts[-1] <= s - EPS:
                who = self.owners[-1]
                self._mt, self._md, self._ms, self._mo = t, 0.0, s, who
                if d <= EPS:
                    return s, s, who
                e = s + d
                if e > s:
                    ends[-1], self.owners[-1] = e, owner
                return s, e, who
        s, who = self.find(t, 0.0)
        if starts[-1] <= s - EPS:  # free from s on (a saturated resource): one piece
            if d <= EPS:
                return s, s, who
            self.reserve(s, s + d, owner)
            return s, s + d, who
        segments = []
        cur, remaining = s, d
        i = bisect_right(starts, cur - EPS)
        n = len(starts)
        while remaining > EPS:
            gap_end = starts[i] if i < n else math.inf
            take = min(remaining, gap_end - cur)
            if take > EPS:
                segments.append((cur, cur + take))
                remaining -= take
            if remaining > EPS:
                cur = max(cur, ends[i])
                i += 1
        for a, b in segments:
            self.reserve(a, b, owner)
        return s, (segments[-1][1] if segments else s), who

    @property
    def end(self) -> float:
        return self.ends[-1] if self.ends else 0.0


def find_common(tables: list[ReservationTable], t: float, d: float) -> tuple[float, int]:
    """Earliest t' >= t at which every table has a free slot of length d."""
    owner = -1
    while True:
        moved = False
        for tab in tables:
            s, o = tab.find(t, d)
            if s > t + EPS:
                t, owner, moved = s, o, True
        if not moved:
            return t, owner


class TensorThrottle:
    """TensorE power throttle on trn2/trn3 [D] NX.

    After a stretch of low utilisation the engine runs at ~50% speed and ramps to full
    over ~3 us of work. Utilisation is tracked as an exponential average with a time
    constant of half the window [E]; when it is below 50% at an instruction's start,
    the cap is re-armed.
    """

    __slots__ = ("window", "floor", "tau", "util", "t", "ramp_start", "extra_ns")

    def __init__(self, window_ns: float, floor: float):
        self.window = window_ns
        self.floor = floor
        self.tau = window_ns / 2
        self.util = 0.0
        self.t = -math.inf
        self.ramp_start = 0.0
        self.extra_ns = 0.0

    def stretch(self, s: float, d: float) -> float:
        """Duration of a d-ns instruction starting at s under the throttle (no state change)."""
        util = self.util * math.exp(-(s - self.t) / self.tau) if s > self.t else self.util
        ramp_start = s if util < 0.5 else self.ramp_start
        # Instructions placed into an earlier gap (s before the ramp began) run at the floor.
        progress = min(1.0, max(0.0, s - ramp_start) / self.window)
        return d / (self.floor + (1 - self.floor) * progress)

    def commit(self, s: float, d: float, d_throttled: float) -> None:
        if s > self.t:
            self.util *= math.exp(-(s - self.t) / self.tau)
        if self.util < 0.5:
            self.ramp_start = s
        self.util = 1 - (1 - self.util) * math.exp(-d_throttled / self.tau)
        self.t = max(self.t, s + d_throttled)
        self.extra_ns += d_throttled - d
