"""Fingerprint what the simulator and the cost model compute, to prove a refactor changed nothing.

For every problem of a suite (each variant too, keyed ``NAME@VARIANT@TARGET``) and every target, it
simulates the problem's baseline kernel twice: on the check inputs of one seed with numerics (digest of
the outputs and of the encoded trace), and at full shapes without numerics (digest of the trace); and it prices
both traces with the cost model (latency in ns, bottleneck engine). A kernel that the
simulator refuses for a target records its error instead, so capability changes show too.

    python benchmarks/behaviour_snapshot.py --save before.json
    ... refactor ...
    python benchmarks/behaviour_snapshot.py --compare before.json   # exit 1 on any difference

Nothing here is timed: the figures are exact values, and any difference is a change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from autocomp import targets

REPO = Path(__file__).resolve().parents[1]
TARGETS = targets.names()  # every registered target record (autocomp/targets/)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _outputs_digest(outputs) -> str:
    h = hashlib.sha256()
    for out in outputs if isinstance(outputs, (tuple, list)) else (outputs,):
        arr = np.ascontiguousarray(np.asarray(out))
        h.update(str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()[:16]


def _priced(trace, target: str) -> dict:
    from autocomp.nki.trace_codec import encode
    from autocomp.perf import profile

    prof = profile(trace, target)
    # The summary holds every figure the tools show (engines, DMA, roofline, interval, hints).
    summary = json.dumps(prof.summary(), sort_keys=True, default=str).encode()
    return {"trace": _digest(encode(trace)), "instructions": len(trace.instructions),
            "latency_ns": round(float(prof.latency_ns), 3), "profile": _digest(summary)}


def fingerprint(problem_dir: Path, target: str, variant: str | None = None) -> dict:
    """What simulating one problem's baseline (or its ``variant``) on ``target`` yields, or the error it raises."""
    from autocomp.nki import run_kernel
    from autocomp.problem import Problem
    from autocomp.suite.check import load_problem_kernel

    problem = Problem.load(problem_dir, variant)
    record: dict = {}
    try:
        fn = load_problem_kernel(problem)
        grid = getattr(fn, "grid", ())
        seed = problem.spec.seeds[0]
        check = run_kernel(fn, problem.inputs(seed), target=target, grid=grid, dialect=problem.spec.dialect)
        record["check"] = {"outputs": _outputs_digest(check.outputs), **_priced(check.trace, target)}
        full = run_kernel(fn, problem.inputs(seed, check=False), target=target, grid=grid, numerics=False,
                          dialect=problem.spec.dialect)
        record["full"] = _priced(full.trace, target)
    except Exception as e:  # a refusal is behaviour too: record it, keep going
        record["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return record


def snapshot(problems: Path, targets: tuple[str, ...]) -> dict:
    from autocomp.problem import Problem, find_problems

    out = {}
    for pdir in find_problems(problems):
        for variant in (None, *sorted(Problem.load(pdir).base_spec.variants)):
            for target in targets:
                key = f"{pdir.name}{'@' + variant if variant else ''}@{target}"
                out[key] = fingerprint(pdir, target, variant)
                print(f"{key:40s} {json.dumps(out[key], sort_keys=True)[:110]}", file=sys.stderr)
    return out


def compare(before: dict, after: dict) -> list[str]:
    diffs = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            diffs.append(f"{key}:\n  before {json.dumps(before.get(key), sort_keys=True)}\n"
                         f"  after  {json.dumps(after.get(key), sort_keys=True)}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=Path, default=REPO / "problems", help="suite directory (default: problems/)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets (default: all)")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, metavar="FILE", help="write the snapshot to FILE")
    mode.add_argument("--compare", type=Path, metavar="FILE", help="compare with a saved snapshot; exit 1 on change")
    args = ap.parse_args(argv)
    if args.compare is not None and not args.compare.is_file():
        print(f"{args.compare}: no such snapshot; make one with --save", file=sys.stderr)
        return 2
    snap = snapshot(args.problems, tuple(t.strip() for t in args.targets.split(",") if t.strip()))
    if args.save is not None:
        args.save.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
        print(f"{len(snap)} fingerprints written to {args.save}")
        return 0
    diffs = compare(json.loads(args.compare.read_text()), snap)
    for d in diffs:
        print(d)
    print(f"{len(snap)} fingerprints, {len(diffs)} differ from {args.compare}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
