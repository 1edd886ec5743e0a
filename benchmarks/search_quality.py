"""How good is the knob tuner? Speedups on the suite, and sample efficiency against exhaustive search.

    python benchmarks/search_quality.py                    # everything (takes a while on 2 cores)
    python benchmarks/search_quality.py --skip-suite       # only the two exhaustive comparisons
    python benchmarks/search_quality.py --problems gemm_bf16,silu_bf16 --skip-exhaustive

Part 1 runs ``autocomp optimize --agent knobs`` on every suite problem that declares knobs and
prints the speedup over the baseline and the % of roofline before and after (cost model, evidence
``sim``). Part 2 evaluates every configuration of two knob spaces and reports how many
evaluations the tuner needed (counting the baseline, in the order it proposed them) to come
within 5% of the exhaustive optimum; the target is at most 25% of the space:

- ``gemm_bf16`` with its declared knobs (TILE_N x BLOCK_M x BLOCK_N), from the shipped baseline;
- ``batched_matmul_bf16`` with all three tile constants as knobs (TILE_K x TILE_M x TILE_N),
  started from the smallest tiles, far from the optimum.

Evaluations go through the real sandboxed evaluator and its cache (``$AUTOCOMP_CACHE_DIR``), so
a second run is fast.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autocomp import optimize  # noqa: E402
from autocomp.evaluate import Evaluator  # noqa: E402
from autocomp.knobs import describe_config, knob_space, rewrite_constants  # noqa: E402
from autocomp.problem import Problem, find_problems  # noqa: E402
from autocomp.store import RunReader  # noqa: E402

WITHIN = 0.05
TARGET_SHARE = 0.25


@dataclass
class Variant:
    """A knob space for the exhaustive comparison: a suite problem, optionally more knobs and another start."""

    name: str
    problem: str
    knobs: dict[str, list] | None = None
    start: dict | None = None
    note: str = ""


EXHAUSTIVE = [
    Variant("gemm_bf16", "gemm_bf16", note="declared knobs, shipped baseline"),
    Variant("batched_matmul_bf16/3-knob", "batched_matmul_bf16",
            knobs={"TILE_K": [32, 64, 128], "TILE_M": [32, 64, 128], "TILE_N": [128, 256, 512]},
            start={"TILE_K": 32, "TILE_M": 32, "TILE_N": 128}, note="all tile constants, started from the smallest"),
]


def materialize(variant: Variant, root: Path) -> Path:
    """A problem directory for ``variant``: the suite problem with its knobs and start replaced."""
    src = REPO / "problems" / variant.problem
    if variant.knobs is None and variant.start is None:
        return src
    dst = root / variant.problem
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    if variant.start:
        kernel = dst / "kernel.py"
        kernel.write_text(rewrite_constants(kernel.read_text(), variant.start))
    if variant.knobs:
        toml = (dst / "problem.toml").read_text()
        toml = toml.split("\n[knobs]")[0].rstrip() + "\n\n[knobs]\n" + "".join(
            f"{k} = {list(v)}\n" for k, v in variant.knobs.items())
        (dst / "problem.toml").write_text(toml)
    return dst


def tune(problem_dir: Path, out: Path, workers: int, iterations: int) -> tuple:
    start = time.monotonic()
    result = optimize(problem_dir, agent="knobs", out=out, workers=workers, iterations=iterations,
                      revalidate_seeds=0, backend="sim")
    with RunReader.open_readonly(result.run_dir) as reader:
        base = reader.baseline()
        base_roof = (reader.evaluation(base.id).result.get("profile") or {}).get("roofline_percent")
        order = [(c.id, c.latency_us if c.correct else None) for c in reader.candidates()]
    return result, base_roof, order, time.monotonic() - start


def suite(names: list[str] | None, workers: int, iterations: int, out: Path) -> None:
    print("== knob tuner on the suite (cost model, evidence: sim) ==")
    print(f"{'problem':26s} {'space':>5s} {'evals':>5s} {'baseline us':>12s} {'best us':>10s} {'speedup':>8s} "
          f"{'roofline':>17s} {'time':>6s}")
    for d in find_problems(REPO / "problems"):
        if names and d.name not in names:
            continue
        problem = Problem.load(d)
        if not problem.spec.knobs:
            continue
        size = knob_space(problem.baseline_source, problem.spec.knobs).size
        try:
            result, base_roof, _, seconds = tune(d, out, workers, iterations)
        except Exception as e:  # one broken problem must not hide the others' figures
            print(f"{problem.name:26s} {size:5d} failed: {type(e).__name__}: {str(e)[:160]}", flush=True)
            continue
        roof = (f"{100 * base_roof:5.1f}% -> {result.roofline_percent:5.1f}%"
                if base_roof is not None and result.roofline_percent is not None else "-")
        print(f"{problem.name:26s} {size:5d} {result.evaluations:5d} {result.baseline_latency_us:12,.1f} "
              f"{result.best_latency_us:10,.1f} {result.speedup:7.2f}x {roof:>17s} {seconds:5.0f}s", flush=True)


def exhaustive(variants: list[Variant], workers: int, iterations: int, out: Path) -> None:
    print("\n== sample efficiency against exhaustive enumeration ==")
    evaluator = Evaluator("sim", workers=workers)
    for variant in variants:
        try:
            compare_exhaustive(variant, evaluator, workers, iterations, out)
        except Exception as e:
            print(f"{variant.name}: failed: {type(e).__name__}: {str(e)[:200]}", flush=True)
    evaluator.close()


def compare_exhaustive(variant: Variant, evaluator: Evaluator, workers: int, iterations: int, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="autocomp-sq-") as tmp:
        problem_dir = materialize(variant, Path(tmp))
        problem = Problem.load(problem_dir)
        space = knob_space(problem.baseline_source, problem.spec.knobs)
        configs = list(space.configurations())
        sources = [rewrite_constants(problem.baseline_source, c) for c in configs]
        t0 = time.monotonic()
        results = evaluator.evaluate_many(problem, sources)
        seconds = time.monotonic() - t0
        lat = {describe_config(c): r.latency_us for c, r in zip(configs, results) if r.status == "correct"}
        best_cfg = min(lat, key=lat.get)
        optimum = lat[best_cfg]
        result, _, order, tune_s = tune(problem_dir, out, workers, iterations)
    needed = next((i for i, (_, latency) in enumerate(order, 1)
                   if latency is not None and latency <= optimum * (1 + WITHIN)), None)
    share = needed / space.size if needed else None
    verdict = "ok" if share is not None and share <= TARGET_SHARE else "MISSED"
    print(f"{variant.name} ({variant.note}): {space.size} configurations, {len(lat)} valid; optimum "
          f"{best_cfg} = {optimum:,.1f} us (exhaustive: {seconds:.0f} s)")
    print(f"  tuner: best {result.best_latency_us:,.1f} us after {result.evaluations} evaluations "
          f"({tune_s:.0f} s); within {WITHIN:.0%} of the optimum after "
          + (f"{needed} evaluations = {share:.0%} of the space (target <= {TARGET_SHARE:.0%}): {verdict}"
             if needed else f"never (target <= {TARGET_SHARE:.0%}): {verdict}"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", help="comma-separated suite problems for part 1 (default: all with knobs)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument("--skip-exhaustive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autocomp-sq-runs-") as runs:
        if not args.skip_suite:
            suite(args.problems.split(",") if args.problems else None, args.workers, args.iterations, Path(runs))
        if not args.skip_exhaustive:
            exhaustive(EXHAUSTIVE, args.workers, args.iterations, Path(runs))


if __name__ == "__main__":
    main()
