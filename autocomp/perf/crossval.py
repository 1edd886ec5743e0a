"""Which calibration parameters a set of measurements supports, and how hard to pull them home.

``autocomp calibrate`` has few measurements (often a dozen) and many parameters it could move.
Fitting all of them drives the training error down and the error on other kernels up. So before
the fit proper, ``choose`` decides on the *training* measurements alone:

- the model is linearised at the starting point: residual_i(dx) = r_i + J_i . dx, where r_i is
  ln(model / measured) of measurement i and J its derivatives in the encoded parameters
  (``autocomp.perf.fit``: log space for rates and scales, units for times that may be 0);
- a candidate is a parameter subset S and a pull ``prior`` towards the start: the ridge step
  minimising mean(residual^2) + prior * |dx|^2 over the parameters in S;
- each candidate is scored by cross-validation: leave one measurement out (or one of ten folds
  when there are more than ``LOO_MAX``), fit the step on the rest, predict the one left out;
- subsets grow forward: each round adds the parameter (and pull) with the lowest score, up to
  one parameter per PER_PARAMETER measurements;
- the answer is the *smallest* subset on that path whose score is within one standard error of
  the best score ("one-standard-error rule"), with the pull that scored best for it: a parameter
  enters only when it lowers the error on measurements it did not see by more than the noise of
  that estimate. The empty subset (keep the starting values) is on the path, so a set that
  supports nothing changes nothing.

Everything here is arithmetic on the Jacobian: no schedule runs, so the search is cheap.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

# Pulls towards the start, in units of the objective (mean squared log error) per squared encoded
# step: 1e-4 barely holds a parameter, 1.0 allows a move only against a large, consistent error.
PRIORS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
# At most one moving parameter per this many measurements beyond the first (three move nothing):
# with few measurements the cross-validated error itself is noisy, and the minimum over many
# subsets is optimistic.
PER_PARAMETER = 3
LOO_MAX = 30  # up to this many measurements: leave-one-out; more: FOLDS folds
FOLDS = 10


@dataclass
class Candidate:
    """One point of the forward path: a parameter subset, its pull and its cross-validated error."""

    names: tuple[str, ...]
    prior: float
    cv_mse: float  # mean squared held-out log error (linearised)
    cv_se: float  # its standard error over measurements

    def to_dict(self) -> dict:
        return {"parameters": list(self.names), "prior_weight": self.prior, "cv_rms_log_error":
                math.sqrt(self.cv_mse), "cv_se": self.cv_se}


@dataclass
class Choice:
    """What ``choose`` decided: the subset, its pull, and the path it chose from."""

    names: tuple[str, ...]
    prior: float
    path: list[Candidate] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate:
        return next(c for c in self.path if c.names == self.names)

    def to_dict(self) -> dict:
        return {"selected": list(self.names), "prior_weight": self.prior,
                "path": [c.to_dict() for c in self.path]}


def ridge_step(cols: Sequence[Sequence[float]], res: Sequence[float], prior: float,
               rows: Sequence[int] | None = None) -> list[float]:
    """The step dx minimising mean((r + J dx)^2) + prior |dx|^2 over ``rows`` (default all)."""
    idx = range(len(res)) if rows is None else rows
    n = max(len(idx), 1)
    k = len(cols)
    a = [[sum(cols[i][r] * cols[j][r] for r in idx) / n for j in range(k)] for i in range(k)]
    b = [-sum(cols[i][r] * res[r] for r in idx) / n for i in range(k)]
    for i in range(k):
        a[i][i] += prior
    return solve(a, b)


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small dense system by Gaussian elimination with partial pivoting (singular: 0 there)."""
    k = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(k):
        p = max(range(c, k), key=lambda r: abs(m[r][c]))
        if abs(m[p][c]) < 1e-15:
            continue
        m[c], m[p] = m[p], m[c]
        for r in range(k):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [u - f * v for u, v in zip(m[r], m[c])]
    return [m[i][k] / m[i][i] if abs(m[i][i]) > 1e-15 else 0.0 for i in range(k)]


def folds(n: int) -> list[list[int]]:
    """Held-out index sets: each measurement alone up to LOO_MAX, else FOLDS interleaved folds."""
    if n <= LOO_MAX:
        return [[i] for i in range(n)]
    return [list(range(f, n, FOLDS)) for f in range(FOLDS)]


def cv_error(cols: Sequence[Sequence[float]], res: Sequence[float], prior: float,
             bounds: Sequence[tuple[float, float]] = ()) -> tuple[float, float]:
    """(mean, standard error) of the squared held-out residual of the linearised ridge fit.

    ``bounds``: per column, how far the step may go (low, high); a held-out fit is clipped to
    them as the real fit would be."""
    n = len(res)
    if not cols:
        sq = [r * r for r in res]
    else:
        sq = [0.0] * n
        everyone = set(range(n))
        for out in folds(n):
            step = ridge_step(cols, res, prior, sorted(everyone - set(out)))
            if bounds:
                step = [min(max(s, lo), hi) for s, (lo, hi) in zip(step, bounds)]
            for i in out:
                pred = res[i] + sum(c[i] * s for c, s in zip(cols, step))
                sq[i] = pred * pred
    mean = statistics.fmean(sq)
    se = statistics.stdev(sq) / math.sqrt(n) if n > 1 else 0.0
    return mean, se


def choose(names: Sequence[str], cols: Sequence[Sequence[float]], res: Sequence[float],
           bounds: Sequence[tuple[float, float]] = (), priors: Sequence[float] = PRIORS,
           select: bool = True) -> Choice:
    """The subset of ``names`` (columns ``cols`` of the Jacobian) and the pull cross-validation
    supports, from residuals ``res`` at the start. ``select=False``: all of ``names``, only the
    pull is chosen (the empty subset is still on the path)."""
    bounds = list(bounds) or [(-math.inf, math.inf)] * len(names)
    usable = [i for i, c in enumerate(cols) if any(abs(v) > 1e-6 for v in c)]

    def score(idx: Sequence[int], prior: float) -> Candidate:
        mean, se = cv_error([cols[i] for i in idx], res, prior, [bounds[i] for i in idx])
        return Candidate(tuple(names[i] for i in idx), prior, mean, se)

    keep = score([], 0.0)
    path = [keep]
    if not usable or len(res) < 2:
        return Choice((), 0.0, path)
    if not select:
        path.append(min((score(usable, p) for p in priors), key=lambda c: c.cv_mse))
    else:
        chosen: list[int] = []
        while len(chosen) < min(len(usable), (len(res) - 1) // PER_PARAMETER):
            best = min((score(chosen + [i], p) for i in usable if i not in chosen for p in priors),
                       key=lambda c: c.cv_mse)
            chosen = [names.index(n) for n in best.names]
            path.append(best)
    best = min(path, key=lambda c: c.cv_mse)
    limit = best.cv_mse + best.cv_se
    pick = next(c for c in path if c.cv_mse <= limit)  # the path grows: first = smallest
    return Choice(pick.names, pick.prior, path)


def path_lines(selection: dict, selected: Sequence[str]) -> list[str]:
    """``Choice.to_dict()`` for people: each step of the path with the parameter it added and its
    cross-validated rms log error; ``*`` marks the chosen one."""
    lines, before = [], []
    for c in selection.get("path", []):
        names = c["parameters"]
        added = [n for n in names if n not in before] if names else []
        what = f"+ {', '.join(added)} (pull {c['prior_weight']:g})" if added else "(starting values)"
        mark = "*" if list(names) == list(selected) else " "
        lines.append(f"{mark} cv rms log error {c['cv_rms_log_error']:.3f}  {what}")
        before = names
    return lines
