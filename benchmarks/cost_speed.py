"""How fast the cost model is: trace + profile of the basic tiled matmul, shape-only.

The kernel is stage 1 of the NKI matmul tutorial, [4096, 8192] @ [8192, 8192] bf16: about
10^5 instructions. Target: <= 2 s for trace + schedule.

    python benchmarks/cost_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from autocomp.nki import TensorSpec, run_kernel
from autocomp.nki.loader import load_kernel
from autocomp.perf import profile

KERNEL = Path(__file__).resolve().parent.parent / "tests" / "perf" / "kernels" / "matmul_tutorial.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    parser.add_argument("--target", default=None, help="target name (default: the default target record)")
    args = parser.parse_args()
    from autocomp import targets

    args.target = targets.get(args.target).name
    fn = load_kernel(KERNEL, "matmul_basic", args.target)
    inputs = [TensorSpec((8192, 4096), "bfloat16"), TensorSpec((8192, 8192), "bfloat16")]
    best = None  # (wall trace, wall profile, cpu trace, cpu profile) of the fastest run
    trace = prof = None
    for _ in range(args.repeat):
        trace = prof = None  # free the previous run's trace outside the timed region
        w0, c0 = time.perf_counter(), time.process_time()
        trace = run_kernel(fn, inputs, target=args.target, numerics=False).trace
        w1, c1 = time.perf_counter(), time.process_time()
        prof = profile(trace, args.target)
        w2, c2 = time.perf_counter(), time.process_time()
        run = (w1 - w0, w2 - w1, c1 - c0, c2 - c1)
        best = run if best is None or sum(run[:2]) < sum(best[:2]) else best
    n = len(trace)
    print(f"matmul_basic [4096,8192]@[8192,8192] bf16 on {args.target}: {n} instructions, "
          f"estimated {prof.latency_us / 1e3:.2f} ms")
    for label, wall, cpu in (("trace", best[0], best[2]), ("profile", best[1], best[3])):
        print(f"  {label:<8}{wall:6.2f} s wall, {cpu:6.2f} s CPU  ({n / cpu:,.0f} instructions/s)")
    print(f"  total   {best[0] + best[1]:6.2f} s wall, {best[2] + best[3]:6.2f} s CPU  (target <= 2 s)")


if __name__ == "__main__":
    main()
