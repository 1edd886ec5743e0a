"""Evaluator throughput and sandbox overhead on an RMSNorm and a GEMM problem (sim backend).

For each problem it prints:
- candidates evaluated per minute by an Evaluator with 2 workers (distinct candidates, cache off);
- the overhead of one sandboxed evaluation as a ratio to a bare in-process simulation of the same
  kernel doing the same work (every seed's numeric run, the timing trace, the cost model), with a
  spare worker already started as in a search. Target: <= 1.3x for the GEMM.

Uses problems/rmsnorm_bf16 and problems/gemm_bf16 when present, else small built-in versions.

With ``--executor ray`` it measures the throughput with the local executor and with Ray on this machine (a
private Ray cluster on 127.0.0.1 with as many CPUs as workers, or ``--ray-address``) and prints the overhead
ratio: local candidates/min over Ray candidates/min (1.0: Ray costs nothing; needs ``pip install
'autocomp[ray]'``).

    python benchmarks/eval_throughput.py [--candidates 8] [--repeats 3] [--executor ray [--ray-address ADDR]]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from autocomp.evaluate import Evaluator
from autocomp.problem import Problem

REPO = Path(__file__).resolve().parents[1]

_RMSNORM_KERNEL = '''import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

EPS = 1e-6


@nki.jit
def rmsnorm(x, gamma):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.load(gamma)
    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :], dtype=nl.float32)
        ms = nl.multiply(nl.sum(nl.square(x_t), axis=[1], keepdims=True), 1.0 / D)
        y = nl.multiply(nl.multiply(x_t, nl.rsqrt(nl.add(ms, EPS))), g, dtype=x.dtype)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out
'''
_RMSNORM_REFERENCE = '''import ml_dtypes
import numpy as np


def make_inputs(rng):
    x = rng.standard_normal((2048, 2048)) * 2.0 ** rng.integers(-3, 3, (2048, 2048))
    return x.astype(ml_dtypes.bfloat16), (1 + 0.5 * rng.standard_normal((1, 2048))).astype(ml_dtypes.bfloat16)


def reference(x, gamma):
    x = x.astype(np.float64)
    return x / np.sqrt(np.mean(x * x, axis=1, keepdims=True) + 1e-6) * gamma.astype(np.float64)
'''
_GEMM_KERNEL = '''import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

TILE_N = 512


@nki.jit
def gemm(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // TILE_N):
            acc = nl.zeros((128, TILE_N), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                a = nl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                b = nl.load(rhs[k * 128:(k + 1) * 128, n * TILE_N:(n + 1) * TILE_N])
                acc += nisa.nc_matmul(a, b)
            nl.store(out[m * 128:(m + 1) * 128, n * TILE_N:(n + 1) * TILE_N], value=nl.copy(acc, dtype=out.dtype))
    return out
'''
_GEMM_REFERENCE = '''import ml_dtypes
import numpy as np


def make_inputs(rng):
    return (rng.standard_normal((1024, 1024)).astype(ml_dtypes.bfloat16),
            rng.standard_normal((1024, 1024)).astype(ml_dtypes.bfloat16))


def reference(lhsT, rhs):
    return lhsT.astype(np.float64).T @ rhs.astype(np.float64)
'''


def _builtin(root: Path, name: str, function: str, kernel: str, reference: str, tol: str) -> Problem:
    d = root / name
    d.mkdir()
    (d / "problem.toml").write_text(f'name = "{name}"\nfunction = "{function}"\n[tolerance]\n{tol}\n')
    (d / "kernel.py").write_text(kernel)
    (d / "reference.py").write_text(reference)
    return Problem.load(d)


def load_problems(tmp: Path) -> list[Problem]:
    out = []
    for name, function, kernel, reference, tol in (
            ("rmsnorm_bf16", "rmsnorm", _RMSNORM_KERNEL, _RMSNORM_REFERENCE, "rel_l2 = 2e-2\natol = 2e-2\nrtol = 2e-2"),
            ("gemm_bf16", "gemm", _GEMM_KERNEL, _GEMM_REFERENCE, "rel_l2 = 2e-2\natol = 0.5\nrtol = 2e-2")):
        path = REPO / "problems" / name
        try:
            out.append(Problem.load(path) if path.is_dir() else _builtin(tmp, name, function, kernel, reference, tol))
        except Exception as e:  # a suite problem another part is still writing: fall back
            print(f"  ({path}: {e}; using the built-in version)")
            out.append(_builtin(tmp, name + "_builtin", function, kernel, reference, tol))
    return out


def candidates(problem: Problem, n: int) -> list[str]:
    """``n`` distinct honest candidates: the baseline with a different unused constant each."""
    return [problem.baseline_source + f"\nCANDIDATE_ID = {i}\n" for i in range(n)]


def bare_simulation(problem: Problem, tmp: Path) -> float:
    """Seconds for the same work in this process, without a sandbox: every seed, the timing trace, the profile."""
    import autocomp.nki
    from autocomp.nki.launch import Kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.perf import profile

    autocomp.nki.install(problem.spec.target)
    inputs = {s: problem.inputs(s) for s in problem.spec.seeds}
    specs = problem.input_specs() if problem.spec.check_shapes else None
    path = tmp / f"bare_{problem.name}.py"
    path.write_text(problem.baseline_source)
    start = time.perf_counter()
    fn = load_kernel(path, problem.spec.function, problem.spec.target)
    k = fn if isinstance(fn, Kernel) else autocomp.nki.v1.top.jit(fn)
    trace = None
    for s in problem.spec.seeds:
        np.asarray(k(*[np.array(a) for a in inputs[s]]))
        trace = trace or k.last_result.trace
    if specs is not None:
        k(*specs)
        trace = k.last_result.trace
    profile(trace, problem.spec.target)
    return time.perf_counter() - start


def throughput(problem: Problem, srcs: list[str], cache_dir: Path, executor=None) -> tuple[float, float, set[str]]:
    """(candidates per minute, seconds, statuses) for ``srcs`` on 2 workers, after the baseline and a warm-up
    round (Ray's worker processes import autocomp on their first task)."""
    ev = Evaluator("sim", workers=2, cache=False, cache_dir=cache_dir, executor=executor)
    try:
        ev.baseline(problem)  # references and inputs are computed once per run, as in a search
        # one candidate per worker first: a search's later iterations find imports done and spares started
        ev.evaluate_many(problem, [s + "\nWARM_UP = 1\n" for s in srcs[:ev.workers]])
        ev.warm_up()
        start = time.perf_counter()
        results = ev.evaluate_many(problem, srcs)
        wall = time.perf_counter() - start
    finally:
        ev.close()
    return 60.0 * len(srcs) / wall, wall, {r.status for r in results}


def ray_overhead(problems: list[Problem], n: int, tmp: Path, address: str | None) -> None:
    """Candidates per minute with the local executor and with Ray on the same machine, and their ratio."""
    from autocomp.evaluate.executors.ray import RayExecutor

    executor = RayExecutor(address, num_cpus=2)
    try:
        for problem in problems:
            srcs = candidates(problem, n)
            local, local_s, _ = throughput(problem, srcs, tmp / "cache")
            # distinct sources from the local run's, so neither run can reuse the other's work
            ray_srcs = [s + "\nON_RAY = 1\n" for s in srcs]
            on_ray, ray_s, statuses = throughput(problem, ray_srcs, tmp / "cache", executor=_Keep(executor))
            print(f"{problem.name}: local {local:.1f} candidates/min ({n} in {local_s:.1f} s), Ray {on_ray:.1f} "
                  f"candidates/min ({n} in {ray_s:.1f} s, {'/'.join(sorted(statuses))}) on the same machine: "
                  f"overhead ratio {local / on_ray:.2f}x")
    finally:
        executor.close()


class _Keep:
    """The executor for one Evaluator, left open when that Evaluator closes (one cluster for every problem)."""

    def __init__(self, executor):
        self._executor = executor
        self.name = executor.name

    def slots(self) -> int:
        return self._executor.slots()

    def run(self, job):
        return self._executor.run(job)

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=8, help="candidates per problem for the throughput run")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the overhead measurement (median)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="ray: compare the local executor's throughput with Ray's on this machine")
    parser.add_argument("--ray-address", default=None, help="with --executor ray: a running cluster to use")
    parser.add_argument("--problem", action="append", help="only these problems (by name)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.executor == "ray":
            problems = [p for p in load_problems(Path(tmp)) if not args.problem or p.name in args.problem]
            ray_overhead(problems, args.candidates, Path(tmp), args.ray_address)
            return
        for problem in load_problems(Path(tmp)):
            ev = Evaluator("sim", workers=2, cache=False, cache_dir=Path(tmp) / "cache")
            ev.baseline(problem)  # references and inputs are computed once per run, as in a search
            ev.warm_up()
            srcs = candidates(problem, args.candidates)
            start = time.perf_counter()
            results = ev.evaluate_many(problem, srcs)
            wall = time.perf_counter() - start
            statuses = {r.status for r in results}
            per_min = 60.0 * len(srcs) / wall
            ev.close()
            single = Evaluator("sim", workers=1, cache=False, cache_dir=Path(tmp) / "cache")
            single.baseline(problem)
            evals, bares = [], []
            for i in range(args.repeats):
                single.warm_up()  # in a search the next worker starts while the LLM writes the next candidate
                t = time.perf_counter()
                single.evaluate(problem, problem.baseline_source + f"\nREPEAT = {i}\n")
                evals.append(time.perf_counter() - t)
                bares.append(bare_simulation(problem, Path(tmp)))
            single.close()
            ev_s, bare_s = statistics.median(evals), statistics.median(bares)
            print(f"{problem.name}: {per_min:.1f} candidates/min on 2 workers ({len(srcs)} in {wall:.1f} s, "
                  f"{'/'.join(sorted(statuses))}); one evaluation {ev_s:.2f} s vs bare in-process simulation "
                  f"{bare_s:.2f} s = {ev_s / bare_s:.2f}x overhead")


if __name__ == "__main__":
    main()
