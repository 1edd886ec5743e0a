"""Fit calibration parameters to measured latencies (``autocomp calibrate``).

A ``Measurement`` is one kernel at one set of shapes with its measured latency. ``fit`` searches
the calibration parameters (``autocomp.perf.calibration.PARAMETERS``) that minimise the mean
squared log error ln(model / measured) plus a pull towards the starting values. Which candidate
parameters may move and how strong the pull is are chosen first, by cross-validation on the
measurements given (``autocomp.perf.crossval``), so that a dozen measurements do not drag a
parameter they cannot pin down. The search is then a damped Gauss-Newton in log-parameter space
with finite-difference derivatives: each iteration schedules every trace once per moving
parameter, so a fit costs ~(candidates + 2 + (moving + 2) x iterations) schedules per measurement.
Model latencies come from an ``Evaluator``: by default one that re-schedules in-process traces;
``benchmarks/fidelity.py`` plugs in one that runs kernels in child processes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from autocomp.nki.trace import Trace
from autocomp.perf.calibration import PARAMETERS, CalibrationFile, parameter_value
from autocomp.perf.targets import Target, get_target
from autocomp.perf.uncertainty import Band, bands_from_residuals
from autocomp.targets import DEFAULT_TARGET

# Pull of (encoded value - start)^2 against the mean squared log error when an explicit parameter
# list is fitted whole: just enough that a parameter the measurements cannot see stays put.
WEAK_PRIOR = 1e-3
STEP = 0.1  # finite-difference step: 10% in log space, 0.1 for shares


@dataclass
class Measurement:
    """One kernel at one set of shapes, traced, with its measured latency."""

    label: str
    measured_us: float
    trace: Trace | None = None
    target: str = DEFAULT_TARGET
    chain: str | None = None  # measurements of one optimisation chain or sweep (within-chain error)


# Model (latency us, estimate class) of each measurement, for each parameter point.
Evaluator = Callable[[Sequence[dict[str, float]]], list[list[tuple[float, str]]]]


def trace_evaluator(measurements: Sequence[Measurement], base: Target) -> Evaluator:
    """Schedule the measurements' traces on ``base`` with each point's parameters applied."""
    from autocomp.perf.profile import profile

    def evaluate(points: Sequence[dict[str, float]]) -> list[list[tuple[float, str]]]:
        out = []
        for point in points:
            tgt = base.with_calibration(**point) if point else base
            row = []
            for m in measurements:
                p = profile(m.trace, tgt)
                row.append((p.latency_us, p.estimate_class))
            out.append(row)
        return out

    return evaluate


# ----------------------------------------------------------------------------- error statistics

def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson correlation of the ranks); None with fewer than two points or no spread."""
    if len(xs) != len(ys):
        raise ValueError(f"spearman needs equal lengths, got {len(xs)} and {len(ys)}")
    if len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else None


@dataclass
class ErrorStats:
    """How far model latencies are from measured ones."""

    n: int
    median_abs_pct: float
    geomean_ratio: float  # model / measured
    rms_log_error: float  # sqrt(mean ln(model / measured)^2): what fit() minimises
    spearman: float | None  # pooled
    spearman_within_chains: float | None  # mean over chains of two or more

    def to_dict(self) -> dict:
        return {"n": self.n, "median_abs_pct_error": self.median_abs_pct, "geomean_model_over_measured":
                self.geomean_ratio, "rms_log_error": self.rms_log_error, "spearman": self.spearman,
                "spearman_within_chains": self.spearman_within_chains}

    def line(self) -> str:
        rho = "-" if self.spearman is None else f"{self.spearman:.2f}"
        within = "-" if self.spearman_within_chains is None else f"{self.spearman_within_chains:.2f}"
        return (f"median |error| {self.median_abs_pct:.0f}%, geomean model/measured {self.geomean_ratio:.2f}x, "
                f"rms log error {self.rms_log_error:.3f}, Spearman {rho} (within chains {within}), n={self.n}")


def error_stats(measured: Sequence[float], model: Sequence[float], chains: Sequence[str | None] = ()) -> ErrorStats:
    if not measured:
        raise ValueError("no measurements to compare")
    ratios = [b / a for a, b in zip(measured, model)]
    by_chain: dict[str, list[int]] = {}
    for i, c in enumerate(chains):
        if c:
            by_chain.setdefault(c, []).append(i)
    rhos = [spearman([measured[i] for i in idx], [model[i] for i in idx]) for idx in by_chain.values()
            if len(idx) >= 2]
    rhos = [r for r in rhos if r is not None]
    return ErrorStats(n=len(measured), median_abs_pct=statistics.median(abs(r - 1) for r in ratios) * 100,
                      geomean_ratio=math.exp(statistics.fmean(math.log(r) for r in ratios)),
                      rms_log_error=math.sqrt(statistics.fmean(math.log(r) ** 2 for r in ratios)),
                      spearman=spearman(measured, model),
                      spearman_within_chains=statistics.fmean(rhos) if rhos else None)


# ----------------------------------------------------------------------------- the fit

@dataclass
class FitResult:
    """What ``fit`` found: parameters, errors before and after, and the per-class error bands."""

    target: str
    parameters: dict[str, float]  # fitted values of the parameters searched
    start: dict[str, float]
    before: ErrorStats
    after: ErrorStats
    model_before_us: list[float]
    model_after_us: list[float]
    classes: list[str]  # estimate class of each measurement at the fitted parameters
    bands: dict[str, Band]
    unidentified: list[str] = field(default_factory=list)  # parameters the measurements do not move
    evaluations: int = 0
    selected: list[str] = field(default_factory=list)  # the candidates cross-validation let move
    prior_weight: float = 0.0  # the pull towards the start they were fitted with
    selection: dict = field(default_factory=dict)  # crossval.Choice.to_dict(): the path chosen from

    @property
    def changed(self) -> dict[str, float]:
        """The fitted values of the parameters that moved (the rest kept their start values)."""
        return {k: self.parameters[k] for k in self.selected}

    def calibration(self, start: CalibrationFile | None = None, note: str = "") -> CalibrationFile:
        """A calibration file: the start file's parameters updated with the fitted ones."""
        params = dict(start.parameters) if start else {}
        params.update(self.changed)
        fit = {"measurements": self.before.n, "note": note, "fitted": list(self.selected),
               "candidates": sorted(self.parameters), "prior_weight": self.prior_weight,
               "unidentified": self.unidentified, "before": self.before.to_dict(), "after": self.after.to_dict()}
        return CalibrationFile(target=self.target, parameters=params, bands=self.bands, fit=fit)


def _encode(name: str, value: float) -> float:
    spec = PARAMETERS[name]
    return math.log(value) if spec.log_scale else value / spec.unit


def _decode(name: str, x: float) -> float:
    spec = PARAMETERS[name]
    value = math.exp(x) if spec.log_scale else x * spec.unit
    return min(max(value, spec.low), spec.high)


def _bounds(name: str) -> tuple[float, float]:
    """The encoded range of a parameter."""
    spec = PARAMETERS[name]
    if spec.log_scale:
        return math.log(spec.low), math.log(spec.high)
    return spec.low / spec.unit, spec.high / spec.unit


def _clip(name: str, x: float) -> float:
    lo, hi = _bounds(name)
    return min(max(x, lo), hi)


def fit(measurements: Sequence[Measurement], target: str | Target | None = None,
        parameters: Sequence[str] = (), start: CalibrationFile | None = None, evaluator: Evaluator | None = None,
        iterations: int = 6, prior_weight: float | None = None, select: bool | None = None) -> FitResult:
    """Fit calibration parameters to ``measurements``.

    ``parameters``: the candidates (default: calibration.DEFAULT_FIT). Which of them move, and how
    strongly each is pulled back to its start, is decided by cross-validation on ``measurements``
    alone (``autocomp.perf.crossval``): only a parameter that lowers the error on measurements
    left out of its fit by more than the noise moves. ``select``: whether to pick a subset
    (default: yes for the default candidates, no for an explicit list, which is fitted whole);
    ``prior_weight``: a fixed pull instead of the cross-validated one (without selection:
    default WEAK_PRIOR, the plain fit of every parameter the measurements move). ``target``: the
    hardware the measurements are from (default: theirs, which must agree); ``start``: a
    calibration file to start from (its parameters and target); ``evaluator``: where model
    latencies come from (default: schedule each measurement's trace).
    """
    from autocomp.perf.calibration import DEFAULT_FIT
    from autocomp.perf.crossval import PRIORS, Choice, choose

    if not measurements:
        raise ValueError("fit needs at least one measurement")
    bad = [m.label for m in measurements if not (m.measured_us > 0 and math.isfinite(m.measured_us))]
    if bad:
        raise ValueError(f"measured latency must be a positive number of microseconds: {', '.join(bad[:5])}")
    names = list(parameters or DEFAULT_FIT)
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown:
        raise ValueError(f"cannot fit {', '.join(unknown)}; fittable parameters: {', '.join(PARAMETERS)}")
    if select is None:
        select = not parameters
    targets = {get_target(m.target).name for m in measurements}
    tname = get_target(target).name if target is not None else (start.target if start else None)
    if tname is None:
        if len(targets) != 1:
            raise ValueError(f"measurements from several targets ({', '.join(sorted(targets))}): fit one at a time")
        tname = targets.pop()
    elif targets - {tname}:
        raise ValueError(f"measurements for {', '.join(sorted(targets - {tname}))} in a {tname} fit; "
                         "fit each target separately")
    base = start.apply(tname) if start else get_target(tname)
    evaluate = evaluator or trace_evaluator(measurements, base)
    measured = [m.measured_us for m in measurements]
    log_measured = [math.log(v) for v in measured]
    x_start = {n: _encode(n, parameter_value(base, n)) for n in names}
    count = 0

    def run(active: list[str], xs: list[list[float]]) -> list[list[tuple[float, str]]]:
        nonlocal count
        count += len(xs) * len(measurements)
        return evaluate([{n: _decode(n, v) for n, v in zip(active, x)} for x in xs])

    def residuals(row) -> list[float]:
        return [math.log(max(lat, 1e-9)) - lm for (lat, _), lm in zip(row, log_measured)]

    def jacobian(active: list[str], x: list[float], res: list[float]) -> list[list[float]]:
        """Columns d residual / d parameter by forward differences, one schedule per parameter."""
        steps = [STEP if _clip(n, v + STEP) != v else -STEP for n, v in zip(active, x)]
        probes = [[_clip(n, v + (steps[j] if j == k else 0.0)) for j, (n, v) in enumerate(zip(active, x))]
                  for k in range(len(active))]
        cols = []
        for k, row in enumerate(run(active, probes)):
            delta = probes[k][k] - x[k]
            cols.append([(a - b) / delta if delta else 0.0 for a, b in zip(residuals(row), res)])
        return cols

    x0 = [x_start[n] for n in names]
    row_start = run(names, [x0])[0]
    res0 = residuals(row_start)
    cols0 = jacobian(names, x0, res0)
    unidentified = [n for n, col in zip(names, cols0) if not any(abs(c) > 1e-6 for c in col)]
    if select:
        room = [tuple(b - v for b in _bounds(n)) for n, v in zip(names, x0)]
        choice = choose(names, cols0, res0, room, priors=PRIORS if prior_weight is None else (prior_weight,))
    else:
        choice = Choice(tuple(n for n in names if n not in unidentified),
                        WEAK_PRIOR if prior_weight is None else prior_weight)
    active = list(choice.names)
    prior = choice.prior
    x = [x_start[n] for n in active]
    ax0 = list(x)
    res, row0 = res0, row_start
    cols = [cols0[names.index(n)] for n in active]

    def objective(x, res) -> float:
        return statistics.fmean(r * r for r in res) + prior * sum((a - b) ** 2 for a, b in zip(x, ax0))

    best = objective(x, res)
    damping = 1e-2
    for it in range(iterations if active else 0):
        if it:
            cols = jacobian(active, x, res)
        improved = False
        for _attempt in range(4):
            step = _solve(cols, res, x, ax0, prior, damping)
            cand = [_clip(n, v + s) for n, v, s in zip(active, x, step)]
            if max(abs(a - b) for a, b in zip(cand, x)) < 1e-4:
                break
            row = run(active, [cand])[0]
            cand_res = residuals(row)
            value = objective(cand, cand_res)
            if value < best - 1e-12:
                x, res, best, row0 = cand, cand_res, value, row
                damping = max(damping / 3, 1e-4)
                improved = True
                break
            damping *= 10
        if not improved:
            break
    fitted = {n: _decode(n, x_start[n]) for n in names}
    fitted.update({n: _decode(n, v) for n, v in zip(active, x)})
    model_after = [lat for lat, _ in row0]
    classes = [cls for _, cls in row0]
    chains = [m.chain for m in measurements]
    errors = [math.log(a / b) for a, b in zip(measured, model_after)]
    bands = bands_from_residuals(list(zip(classes, errors, chains)), source=f"autocomp calibrate, "
                                 f"{len(measurements)} measurements")
    return FitResult(target=tname, parameters=fitted, start={n: _decode(n, x_start[n]) for n in names},
                     before=error_stats(measured, [lat for lat, _ in row_start], chains),
                     after=error_stats(measured, model_after, chains), model_before_us=[lat for lat, _ in row_start],
                     model_after_us=model_after, classes=classes, bands=bands, unidentified=unidentified,
                     evaluations=count, selected=list(active), prior_weight=prior, selection=choice.to_dict())


def _solve(cols: list[list[float]], res: list[float], x: list[float], x0: list[float], prior: float,
           damping: float) -> list[float]:
    """Levenberg-Marquardt step: (J'J/n + (prior + damping) I) dx = -(J'r/n + prior (x - x0))."""
    from autocomp.perf.crossval import solve

    n, k = len(res), len(cols)
    a = [[sum(ci * cj for ci, cj in zip(cols[i], cols[j])) / n for j in range(k)] for i in range(k)]
    b = [-(sum(ci * r for ci, r in zip(cols[i], res)) / n + prior * (x[i] - x0[i])) for i in range(k)]
    for i in range(k):
        a[i][i] += prior + damping * (1.0 + a[i][i])
    return solve(a, b)


def split_halves(measurements: Sequence[Measurement]) -> tuple[list[int], list[int]]:
    """Two halves for a held-out check: alternate entries of each chain (and of the rest), so both
    halves see every kind of kernel."""
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(measurements):
        groups.setdefault(m.chain or "", []).append(i)
    first, second = [], []
    flip = False
    for idx in groups.values():
        for i in idx:
            (second if flip else first).append(i)
            flip = not flip
    return sorted(first), sorted(second)
