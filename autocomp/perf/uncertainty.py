"""The cost model's error bar: how far off its estimates measure, per kind of work.

Every estimate falls in one *estimate class*, the resource that dominates its critical path
(``dma``, ``tensor``, ``vector``, ``scalar``, ``gpsimd``) or ``overhead`` when fixed per-launch
costs dominate. For each class a ``Band`` records what comparing the model with published
hardware latencies measured: the mean and spread of ln(measured / model) over the class's
measurements, and the spread of the *difference* of two such errors within one optimisation
chain (estimates of related kernels err together, so a ranking is surer than either number).

The built-in bands are part of each target's record (``Target.error_bands``, ``autocomp.targets``)
and come from ``benchmarks/fidelity.py`` on the public fidelity set (see docs/cost-model.md);
``autocomp calibrate`` writes bands fitted to the user's own measurements into the calibration
file. A class measured fewer than ``MIN_MEASURED`` times gets the ``UNMEASURED`` band: a factor of
about 2 either way, not a guess dressed as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autocomp.nki.trace import SP
from autocomp.perf.engines import LANE_NAMES
from autocomp.targets import Z90, Band

CLASSES = ("dma", "tensor", "vector", "scalar", "gpsimd", "overhead")
_ENGINE_CLASS = {**LANE_NAMES, SP: "dma"}  # the Sync engine only triggers DMAs
OVERHEAD_SHARE = 0.25  # launch overhead above this share of the latency: a fixed-cost-bound estimate
MIN_MEASURED = 3
SIGMA_FLOOR = 0.08  # no band is tighter than ~8% (1 sigma): hardware runs vary and the set is small
PRIOR_MEASUREMENTS = 3  # weight of the UNMEASURED band in a band fitted to measurements (see bands_from_residuals)

UNMEASURED = Band(n=0, log_bias=0.0, log_sigma=math.log(2) / Z90, pair_sigma=math.log(1.6) / Z90,
                  source="no measurements of this kind of work: a factor of ~2 either way")


def estimate_class(critical_breakdown: dict[str, float], latency_ns: float, launch_overhead_ns: float) -> str:
    """The kind of work an estimate is: what dominates its critical path, or ``overhead``."""
    if latency_ns <= 0 or launch_overhead_ns >= OVERHEAD_SHARE * latency_ns:
        return "overhead"
    busy = {k: v for k, v in critical_breakdown.items() if k != "waiting" and v > 0}
    if not busy:
        return "overhead"
    top = max(busy, key=busy.get)
    return _ENGINE_CLASS.get(top, "vector")


def band_for(cls: str, bands: dict[str, Band] | None) -> Band:
    """The band of ``cls`` in ``bands``, or UNMEASURED when it has too few measurements."""
    band = (bands or {}).get(cls)
    if band is None or band.n < MIN_MEASURED:
        return UNMEASURED
    return band


def bands_from_residuals(rows: list[tuple[str, float, str | None]], source: str) -> dict[str, Band]:
    """Bands from (estimate class, ln(measured / model), chain or None) per measurement.

    A few measurements say little about the next kernel, so every statistic is shrunk towards the
    UNMEASURED band as if PRIOR_MEASUREMENTS more measurements with its spread (and no bias) had
    been seen: three tight measurements give a band much wider than their own scatter, thirty
    give nearly their own.
    """
    k = PRIOR_MEASUREMENTS
    by_class: dict[str, list[tuple[float, str | None]]] = {}
    for cls, err, chain in rows:
        by_class.setdefault(cls, []).append((err, chain))
    bands = {}
    for cls, items in sorted(by_class.items()):
        errs = [e for e, _ in items]
        n = len(errs)
        mean = sum(errs) / n
        scatter = sum((e - mean) ** 2 for e in errs)
        sigma = math.sqrt((scatter + k * UNMEASURED.log_sigma ** 2) / (n - 1 + k))
        chains: dict[str, list[float]] = {}
        for e, chain in items:
            if chain:
                chains.setdefault(chain, []).append(e)
        diffs = [a - b for members in chains.values() for i, a in enumerate(members) for b in members[i + 1:]]
        if diffs:  # the difference of two errors within a chain
            pair = math.sqrt((sum(d * d for d in diffs) + k * UNMEASURED.pair_sigma ** 2) / (len(diffs) + k))
        else:  # no chains: two estimates err independently
            pair = math.sqrt(2) * sigma
        bands[cls] = Band(n=n, log_bias=sum(errs) / (n + k), log_sigma=max(sigma, SIGMA_FLOOR),
                          pair_sigma=max(pair, SIGMA_FLOOR), source=source)
    return bands


@dataclass(frozen=True)
class WinVerdict:
    """Is a child kernel faster than its parent beyond the model's uncertainty?"""

    certain: bool  # the whole interval of the true speedup lies above 1
    speedup: float  # parent / child as estimated
    low: float  # interval of the true speedup (90%)
    high: float
    reason: str

    def __bool__(self) -> bool:
        return self.certain

    @property
    def label(self) -> str:
        if self.certain:
            return "certain win"
        if self.high < 1.0:
            return "certain loss"
        return "needs hardware confirmation"


def _facts(p) -> tuple[float, str, Band]:
    """(latency ns, estimate class, band) of a Profile or of its summary dict."""
    if isinstance(p, dict):
        s = next(iter(p.values())) if len(p) == 1 and isinstance(next(iter(p.values())), dict) else p
        band = s.get("uncertainty")
        band = Band(**band) if isinstance(band, dict) else UNMEASURED
        return float(s["total_time"]) * 1e9, str(s.get("estimate_class", "")), band
    return float(p.latency_ns), p.estimate_class, p.uncertainty


def win_is_certain(parent, child, z: float = Z90) -> WinVerdict:
    """Whether ``child`` beats ``parent`` by more than the model's error on such a comparison.

    Both are Profiles (or their ``summary()`` dicts) from one target and calibration. Two
    estimates of the same class err together, so their ratio carries the class's within-chain
    error (``pair_sigma``); estimates of different classes err independently. Use the verdict
    to label a win "needs hardware confirmation" instead of presenting it as certain.
    """
    t_parent, c_parent, b_parent = _facts(parent)
    t_child, c_child, b_child = _facts(child)
    if t_parent <= 0 or t_child <= 0:
        raise ValueError("win_is_certain needs two positive latency estimates")
    log_speedup = math.log(t_parent / t_child)
    if c_parent == c_child:
        shift, sigma = 0.0, b_parent.pair_sigma
        how = f"both {c_parent or 'unclassified'}-bound: within-chain error {math.exp(z * sigma) - 1:.0%}"
    else:
        shift = b_parent.log_bias - b_child.log_bias
        sigma = math.hypot(b_parent.log_sigma, b_child.log_sigma)
        how = f"{c_parent}-bound vs {c_child}-bound: independent errors, combined {math.exp(z * sigma) - 1:.0%}"
    low, high = math.exp(log_speedup + shift - z * sigma), math.exp(log_speedup + shift + z * sigma)
    return WinVerdict(certain=low > 1.0, speedup=t_parent / t_child, low=low, high=high, reason=how)
