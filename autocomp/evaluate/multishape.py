"""Judging a candidate over a problem's declared timing shapes: one ordinary evaluation per shape, combined.

Each shape is evaluated as ``problem.at_shape(name)`` (its own inputs, references, baseline and cache keys). The
candidate must be correct at every shape; the first shape where it is not decides the verdict, named in the
reason. Its latency is the weighted geometric mean of the per-shape latencies, and so is the baseline's, so the
speedup is the weighted geometric mean of the per-shape speedups. A shape where it is slower than the baseline
is listed in ``regressed_shapes`` and flags the result (docs/evaluation.md#problems-over-several-shapes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from autocomp.evaluate.result import FLAG_SHAPE_REGRESSION, EvalResult, ShapeResult
from autocomp.problem import Problem, ShapeSpec

# Slower than the baseline by more than this share at a shape counts as a regression there: a simulator
# estimate moves by less between two equivalent kernels, and hardware timings keep their own noise flag.
REGRESSION_TOLERANCE = 0.01


def weighted_geomean(values: Sequence[float], weights: Sequence[float]) -> float:
    """exp(sum w_i log v_i / sum w_i); every value must be positive and every weight positive."""
    if not values or len(values) != len(weights):
        raise ValueError("weighted_geomean needs one weight per value and at least one value")
    if any(v <= 0 or not math.isfinite(v) for v in values) or any(w <= 0 for w in weights):
        raise ValueError(f"weighted_geomean needs positive finite values and weights (got {list(values)}, "
                         f"{list(weights)})")
    total = sum(weights)
    return math.exp(sum(w * math.log(v) for v, w in zip(values, weights)) / total)


ESTIMATE_FIELDS = ("total_time", "estimate_class", "uncertainty")


def shape_entry(shape: ShapeSpec, result: EvalResult) -> ShapeResult:
    estimate = {k: result.profile[k] for k in ESTIMATE_FIELDS if k in result.profile} \
        if result.evidence == "sim" else {}
    return ShapeResult(name=shape.name, weight=shape.weight, params=dict(shape.params), status=result.status,
                       latency_us=result.latency_us, baseline_latency_us=result.baseline_latency_us,
                       speedup=result.speedup, cache_hit=result.cache_hit, estimate=estimate)


def evaluate_shapes(problem: Problem, evaluate_one: Callable[[Problem], EvalResult]) -> EvalResult:
    """Evaluate at every declared shape of ``problem`` with ``evaluate_one(view)`` (in declared order, stopping at
    the first failure) and combine the results."""
    done: list[tuple[ShapeSpec, EvalResult]] = []
    for shape in problem.shapes:
        result = evaluate_one(problem.at_shape(shape.name))
        done.append((shape, result))
        if not result.ok:
            break
    return combine(problem, done)


def combine(problem: Problem, done: list[tuple[ShapeSpec, EvalResult]]) -> EvalResult:
    """One result from per-shape results: the first shape's figures of record (profile, hints, timeline: the
    primary shape), the first failure's verdict, the weighted geometric means."""
    first = done[0][1]
    failed = next(((s, r) for s, r in done if not r.ok), None)
    lead = failed[1] if failed is not None else first
    out = lead.model_copy(deep=True)
    out.problem, out.problem_hash = problem.name, problem.content_hash
    if failed is None:  # the primary shape's profile stands for the kernel
        out.profile, out.hints, out.timeline, out.profile_id = first.profile, first.hints, first.timeline, \
            first.profile_id
    out.shapes = [shape_entry(s, r) for s, r in done]
    out.device_profiles = [{**p, "shape": s.name} for s, r in done for p in r.device_profiles]
    out.errors = [e.model_copy(update={"shape": s.name}) for s, r in done for e in r.errors]
    out.warnings = list(dict.fromkeys(w for _, r in done for w in r.warnings))
    out.mutated_inputs = sorted({i for _, r in done for i in r.mutated_inputs})
    out.flags = list(dict.fromkeys(f for _, r in done for f in r.flags))
    out.cache_hit = all(r.cache_hit for _, r in done)
    out.timings = {}
    for _, r in done:
        for phase, seconds in r.timings.items():
            out.timings[phase] = out.timings.get(phase, 0.0) + seconds
    finite = [r for _, r in done if r.max_abs is not None]
    out.max_abs = max((r.max_abs for r in finite), default=None)
    out.rel_l2 = max((r.rel_l2 for r in finite if r.rel_l2 is not None), default=None)
    if failed is not None:
        shape, _ = failed
        out.reason = f"at shape {shape.label()}: {lead.reason}"
        out.failure_at = {**lead.failure_at, "shape": shape.name}
        out.latency_us = out.baseline_latency_us = out.speedup = None
        return out
    weights = [s.weight for s, _ in done]
    out.latency_us = weighted_geomean([r.latency_us for _, r in done], weights)
    bases = [r.baseline_latency_us for _, r in done]
    if all(b for b in bases):
        out.baseline_latency_us = weighted_geomean(bases, weights)
        out.speedup = out.baseline_latency_us / out.latency_us
        out.regressed_shapes = [s.name for s, r in done if r.speedup is not None
                                and r.speedup < 1.0 - REGRESSION_TOLERANCE]
    else:  # the baseline itself
        out.baseline_latency_us = out.speedup = None
    if out.regressed_shapes and FLAG_SHAPE_REGRESSION not in out.flags:
        out.flags.append(FLAG_SHAPE_REGRESSION)
    per_shape = "; ".join(f"{s.name} {r.latency_us:.2f} us" + (f" ({r.speedup:.2f}x)" if r.speedup else "")
                          for s, r in done)
    speed = f" ({out.speedup:.2f}x the baseline's {out.baseline_latency_us:.2f} us)" if out.speedup else ""
    slower = f"; slower than the baseline at {', '.join(out.regressed_shapes)}" if out.regressed_shapes else ""
    errs = (f"max abs error {out.max_abs:.3g}, rel L2 {out.rel_l2:.3g}" if out.max_abs is not None else "exact")
    out.reason = (f"correct at {len(done)} shapes on {len(out.seeds)} seeds ({errs}); weighted geomean "
                  f"{out.latency_us:.2f} us{speed}{slower}; per shape: {per_shape}")
    return out
