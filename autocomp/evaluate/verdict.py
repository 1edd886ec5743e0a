"""Deciding the verdict, in the parent, from what the worker left on disk and how its process ended."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autocomp.evaluate.correctness import compare, describe_failure, downcast_reason
from autocomp.evaluate.protocol import (
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    REPORT_NAME,
    InputSpec,
    Job,
    KernelFault,
    Timing,
    TimingRequest,
    WorkerReport,
    dtype_name,
    load_array,
    read_report,
)
from autocomp.evaluate.result import FLAG_TOOL_ERROR, FLAG_WORK_SCALING, EvalResult, Location, OutputError
from autocomp.evaluate.sandbox import Outcome
from autocomp.evaluate.timing import speedup_flags, timing_violation
from autocomp.evaluate.trace_check import TraceRejected
from autocomp.problem import Problem
from autocomp.pyparse import parse_python


@dataclass
class Context:
    """What the parent knows independently of the worker, and how it times the candidate.

    ``measure`` is the backend's trusted measuring half (or a process that runs it): it never shares an
    interpreter with candidate code. ``kernel_lines`` counts the lines of the source the parent wrote.
    """

    problem: Problem
    job: Job
    input_hashes: dict[int, list[str]]
    references: dict[int, tuple[np.ndarray, ...]]
    baseline: EvalResult | None  # None while judging the baseline itself
    timeout_s: float
    speedup_review: float
    full_output_elems: list[int] | None  # output sizes at full shapes (check_shapes problems)
    measure: Callable[[TimingRequest], Timing] | None = None
    kernel_lines: int = 0
    inputs: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)  # seed -> the inputs as given
    env: dict[str, str] = field(default_factory=dict)  # the pool slot's environment (which device to time on)
    timeline: bool = False  # ask the measuring half for the engine timeline too
    # Backends whose outputs come from a device (hw): runs the compiled kernel on every seed's inputs, from the
    # parent; (request, inputs by seed, expected (shape, dtype) per output) -> outputs by seed
    device_run: Callable | None = None
    # Where the worker saw the kernel file, when it ran on another host (executors/node.py): the path its
    # traces and messages name. None: the job's own path on this host.
    worker_kernel_path: str | None = None

    @property
    def kernel_path(self) -> str:
        return self.worker_kernel_path or str(Path(self.job.work_dir) / self.job.kernel_file)


class Verdict(Exception):
    """Raised to stop judging: ``result`` is final."""

    def __init__(self, status: str, reason: str, location: Location | None = None, flags: list[str] | None = None,
                 failure_at: dict | None = None):
        super().__init__(reason)
        self.status, self.reason, self.location, self.flags = status, reason, location, flags or []
        self.failure_at = failure_at or {}


def _kernel_params(ctx: Context) -> list[str]:
    """The kernel function's parameter names, read from the source the parent wrote (never from the worker)."""
    try:
        tree = parse_python((Path(ctx.job.work_dir) / ctx.job.kernel_file).read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == ctx.job.function:
            return [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    return []


def _failure_at(ctx: Context, run: str, seed: int | None) -> tuple[dict, str]:
    """Where a run failed, as data and as the words a reason ends with: the seed and the input shapes.

    ``run`` is "check" (a seeded run on real inputs) or "timing" (the full-size run, traced without values).
    """
    if run == "timing":
        specs = [(s.shape, s.dtype) for s in ctx.job.timing_specs]
    else:
        specs = [(list(a.shape), dtype_name(a.dtype)) for a in ctx.inputs.get(seed, ())]
    names = _kernel_params(ctx)
    shapes = {(names[i] if i < len(names) else f"input{i}"): f"{list(shape)} {dtype}"
              for i, (shape, dtype) in enumerate(specs)}
    listed = ", ".join(f"{name}{text}" for name, text in shapes.items())
    if run == "timing":
        words = f"in the timing run at the timing shapes {listed}"
    else:
        which = "the check shapes" if ctx.job.timing_specs else "the shapes"
        words = f"on seed {seed} at {which} {listed}"
    return {"seed": seed, "run": run, "shapes": shapes}, words


def _process_failure(outcome: Outcome, ctx: Context) -> Verdict:
    if outcome.timed_out:
        return Verdict("timeout", f"the kernel did not finish within {ctx.timeout_s:g} s (wall clock) and was "
                                  "killed; look for an unbounded loop or work far beyond the problem size")
    sig = outcome.signal_name
    if sig == "SIGXCPU":
        return Verdict("timeout", "the kernel used up its CPU-time limit and was killed; look for an unbounded loop")
    if sig is not None:
        return Verdict("runtime_error", f"the evaluation process was killed by {sig}; the kernel crashed it or "
                                        "exhausted a resource limit")
    if outcome.returncode == 0:
        return Verdict("runtime_error", "the process exited (code 0) before the evaluation finished: the kernel "
                                        "ended it early (exit/os._exit); a kernel must return its outputs")
    last = [line for line in outcome.stderr_tail.splitlines() if line.strip()][-1:] or [""]
    if last[0].startswith("MemoryError"):
        return Verdict("runtime_error", "ran out of memory (the sandbox's address-space limit); allocate less")
    # A traceback through the evaluator's own worker code is our failure: not cached, not the candidate's fault.
    ours = "autocomp/evaluate/" in outcome.stderr_tail  # the worker and its backends live there
    return Verdict("runtime_error", f"the evaluation process exited with code {outcome.returncode} before "
                                    f"finishing: {last[0][:300]}", flags=[FLAG_TOOL_ERROR] if ours else [])


def _load_report(outcome: Outcome, ctx: Context) -> WorkerReport:
    out_dir = Path(ctx.job.output_dir)
    if outcome.timed_out:
        raise _process_failure(outcome, ctx)
    try:
        report = read_report(out_dir / REPORT_NAME)
    except (ValueError, OSError):
        raise _process_failure(outcome, ctx) from None
    if report.nonce != ctx.job.nonce or outcome.returncode != 0:
        raise _process_failure(outcome, ctx)
    return report


def _error_verdict(report: WorkerReport, ctx: Context) -> Verdict:
    err = report.error
    where = f"{err.file}:{err.line}: " if err.file and err.line else f"{err.file}: " if err.file else ""
    code = f"[{err.code}] " if err.code and err.code.startswith("err_") else ""
    later = ""
    if err.seed is not None and err.seed != ctx.job.seeds[0]:
        later = f" (on the call with seed {err.seed}, after an earlier call succeeded: is state kept across calls?)"
    loc = Location(file=err.file, line=err.line) if err.file else None
    flags = [FLAG_TOOL_ERROR] if err.code == "tool_error" else []
    run = _failed_run(err, ctx)
    at, words = _failure_at(ctx, run, err.seed if run == "check" else None) if run else ({}, "")
    words = f" — {words}" if words else ""
    return Verdict(err.status, f"{where}{code}{err.message}{later}{words}", loc, flags, at)


def _failed_run(err, ctx: Context) -> str | None:
    """Which run an error happened in: "check" (a seeded run), "timing" (the full-size trace), or None (before
    any run: loading, set-up)."""
    if err.phase == "run" and err.seed is not None:
        return "check"
    if err.phase == "record" and ctx.job.timing_specs:
        # Recording writes the check run's trace before running the kernel at the timing shapes: only an
        # oversized check trace fails there, and its message names the check run.
        if err.code == "trace_too_large" and "check run" in err.message:
            return None
        return "timing"
    return None


def _check_outputs(report: WorkerReport, ctx: Context, result: EvalResult) -> tuple[int, list[InputSpec]]:
    """Compare every output with its reference; returns the bytes and (shape, dtype) of the first seed's
    outputs."""
    out_dir = Path(ctx.job.output_dir)
    if [r.seed for r in report.runs] != ctx.job.seeds:
        raise Verdict("runtime_error", "the worker did not run every seed")
    owned = set(ctx.baseline.mutated_inputs) if ctx.baseline is not None else None
    output_bytes = 0
    first: list[InputSpec] = []
    for run in report.runs:
        mutated = [i for i, (a, b) in enumerate(zip(ctx.input_hashes[run.seed], run.input_hashes_after)) if a != b]
        if owned is None:
            result.mutated_inputs = sorted(set(result.mutated_inputs) | set(mutated))
        elif set(mutated) - owned:
            i = min(set(mutated) - owned)
            raise Verdict("rejected", f"input {i} was modified by the kernel (seed {run.seed}); a kernel must not "
                                      "write its inputs unless the baseline does")
        refs = ctx.references[run.seed]
        if len(run.outputs) != len(refs):
            at, words = _failure_at(ctx, "check", run.seed)
            raise Verdict("incorrect", f"the kernel returned {len(run.outputs)} output(s) but the reference has "
                                       f"{len(refs)}; return the same outputs as the baseline — {words}",
                          failure_at=at)
        for i, (ref_meta, ref) in enumerate(zip(run.outputs, refs)):
            if list(ref_meta.shape) != list(ref.shape):  # refuse before reading a file of the wrong size
                result.errors.append(OutputError(seed=run.seed, output=i, passed=False, size=int(ref.size),
                                                 note=f"shape {ref_meta.shape} but the reference is {list(ref.shape)}"))
                continue
            try:
                out = load_array(out_dir, ref_meta)
            except (ValueError, OSError) as e:
                raise Verdict("runtime_error", f"output {i} of seed {run.seed} could not be read back: {e}") from None
            if run.seed == ctx.job.seeds[0]:
                result.output_dtypes.append(ref_meta.dtype)
                output_bytes += int(out.nbytes)
                first.append(InputSpec(dtype=ref_meta.dtype, shape=list(ref_meta.shape)))
            result.errors.append(compare(out, ref, ctx.problem.spec.tolerance, run.seed, i))
    finite = [e for e in result.errors if not e.note]
    result.max_abs = max((e.max_abs for e in finite if e.max_abs is not None), default=None)
    result.rel_l2 = max((e.rel_l2 for e in finite if e.rel_l2 is not None), default=None)
    if any(e.nonfinite for e in finite):
        result.max_abs = result.rel_l2 = None
    failed = next((e for e in result.errors if not e.passed), None)
    if failed is not None:
        at, words = _failure_at(ctx, "check", failed.seed)
        raise Verdict("incorrect", f"{describe_failure(failed, ctx.problem.spec.tolerance)} — {words}",
                      failure_at=at)
    return output_bytes, first


def _request(ctx: Context, outputs: list[InputSpec]) -> TimingRequest:
    job = ctx.job
    first = ctx.job.seeds[0]
    return TimingRequest(
        job=job, artifacts=job.output_dir, kernel_path=ctx.kernel_path,
        kernel_lines=ctx.kernel_lines, outputs=outputs, env=dict(ctx.env),
        inputs=[InputSpec(dtype=dtype_name(a.dtype), shape=list(a.shape)) for a in ctx.inputs.get(first, ())],
        timing_inputs=job.timing_specs, timing_output_elems=ctx.full_output_elems, timeline=ctx.timeline)


def _check_device_outputs(ctx: Context, result: EvalResult) -> tuple[int, list[InputSpec]]:
    """Run the compiled kernel on the device for every seed (from the parent) and compare its outputs with the
    references; all-zero outputs where the reference is not zero are the device's failure, said plainly."""
    first_refs = ctx.references[ctx.job.seeds[0]]
    expected = [(tuple(r.shape), _dtype_hints(ctx, i)) for i, r in enumerate(first_refs)]
    specs = [InputSpec(dtype=dtype_name(r.dtype), shape=list(r.shape)) for r in first_refs]
    t = time.perf_counter()
    try:
        by_seed = ctx.device_run(_request(ctx, specs), {s: ctx.inputs[s] for s in ctx.job.seeds}, expected)
    except KernelFault as e:
        raise Verdict("runtime_error", str(e)) from None
    except Exception as e:  # the device tools failed: not the candidate's fault, never cached
        raise Verdict("runtime_error", f"running the kernel on the device failed: {type(e).__name__}: {e}"[:500],
                      flags=[FLAG_TOOL_ERROR]) from None
    finally:
        result.timings["device_run"] = time.perf_counter() - t
    zero_seeds = []
    for seed in ctx.job.seeds:
        outs, refs = by_seed.get(seed, []), ctx.references[seed]
        for i, (out, ref) in enumerate(zip(outs, refs)):
            if out is None:
                result.errors.append(OutputError(seed=seed, output=i, passed=False, size=int(ref.size),
                                                 note=f"the device returned output {i} with a size that does not "
                                                      f"fit the reference's {list(ref.shape)} {dtype_name(ref.dtype)}"))
                continue
            result.errors.append(compare(out, ref, ctx.problem.spec.tolerance, seed, i))
        if outs and all(o is not None and not np.any(o) for o in outs) and any(np.any(r) for r in refs):
            zero_seeds.append(seed)
    first = by_seed.get(ctx.job.seeds[0], [])
    result.output_dtypes = [dtype_name(o.dtype) for o in first if o is not None]
    specs = [InputSpec(dtype=dtype_name(o.dtype), shape=list(o.shape)) for o in first if o is not None]
    if zero_seeds:
        raise Verdict("runtime_error", f"the device returned all-zero outputs (seeds {zero_seeds}) where the "
                                       "reference is not zero: the kernel did not run or its results were not "
                                       "copied back (a known failure of nki.baremetal on SDK 2.32); check the "
                                       "toolchain before trusting this kernel")
    finite = [e for e in result.errors if not e.note]
    result.max_abs = max((e.max_abs for e in finite if e.max_abs is not None), default=None)
    result.rel_l2 = max((e.rel_l2 for e in finite if e.rel_l2 is not None), default=None)
    failed = next((e for e in result.errors if not e.passed), None)
    if failed is not None:
        at, words = _failure_at(ctx, "check", failed.seed)
        raise Verdict("incorrect", f"{describe_failure(failed, ctx.problem.spec.tolerance)} (on the device) — "
                                   f"{words}", failure_at=at)
    return sum(int(o.nbytes) for o in first if o is not None), specs


def _dtype_hints(ctx: Context, index: int) -> list[str]:
    """Dtypes output ``index`` may have, most likely first, for reading the device's raw bytes: the baseline's
    output dtype, the inputs' dtypes, then the usual float of each size (bf16 before fp16: Trainium's own)."""
    hints = []
    if ctx.baseline is not None and index < len(ctx.baseline.output_dtypes):
        hints.append(ctx.baseline.output_dtypes[index])
    hints += [dtype_name(a.dtype) for a in ctx.inputs.get(ctx.job.seeds[0], ())]
    hints += ["bfloat16", "float32", "float8_e4m3", "int32", "int64", "float64"]
    return list(dict.fromkeys(hints))


def _check_input_hashes(report: WorkerReport, ctx: Context, result: EvalResult) -> None:
    """Compiling ran the kernel's Python on the inputs: it must not have written them either."""
    if [r.seed for r in report.runs] != ctx.job.seeds:
        raise Verdict("runtime_error", "the worker did not compile for every seed")
    for run in report.runs:
        if run.outputs:
            raise Verdict("rejected", "the compile step returned outputs; on hardware, outputs come from the device")
        mutated = [i for i, (a, b) in enumerate(zip(ctx.input_hashes[run.seed], run.input_hashes_after)) if a != b]
        if mutated:
            raise Verdict("rejected", f"input {mutated[0]} was modified while the kernel compiled (seed {run.seed})")


def _measure(ctx: Context, result: EvalResult, outputs: list[InputSpec]) -> Timing:
    """Time the candidate with the backend's trusted half, from what the worker left; refuse what fails its
    checks."""
    request = _request(ctx, outputs)
    t = time.perf_counter()
    try:
        timing = ctx.measure(request)
    except TraceRejected as e:
        raise Verdict("rejected", f"{e}; the evaluator times only what the kernel itself recorded") from None
    except KernelFault as e:
        raise Verdict("runtime_error", str(e)) from None
    except Exception as e:  # the measuring tools failed: not the candidate's fault, never cached
        raise Verdict("runtime_error", f"timing the kernel failed: {type(e).__name__}: {e}"[:500],
                      flags=[FLAG_TOOL_ERROR]) from None
    finally:
        result.timings["measure"] = time.perf_counter() - t
    if timing.evidence != result.evidence:
        raise Verdict("runtime_error", f"the {result.backend} backend measured {timing.evidence} evidence",
                      flags=[FLAG_TOOL_ERROR])
    for facts in (timing.check_facts, timing.facts):
        if facts is not None:
            result.compute_dtypes = sorted(set(result.compute_dtypes) | set(facts.compute_dtypes))
    return timing


def _check_precision(ctx: Context, result: EvalResult) -> None:
    if ctx.baseline is None or ctx.problem.spec.allow_downcast:
        return
    why = downcast_reason(result.output_dtypes, ctx.baseline.output_dtypes, result.compute_dtypes,
                          ctx.baseline.compute_dtypes)
    if why is not None:
        raise Verdict("rejected", why)


def _check_timing(timing: Timing, ctx: Context, result: EvalResult, output_bytes: int) -> None:
    if ctx.full_output_elems is not None:
        output_bytes = sum(n * _itemsize(d) for n, d in zip(ctx.full_output_elems, result.output_dtypes))
    why = timing_violation(timing, ctx.job.target, output_bytes)
    if why is not None:
        raise Verdict("rejected", why)
    _check_work_scaling(timing, ctx, result)
    result.latency_us = timing.latency_us
    result.profile = dict(timing.summary)
    result.timeline = dict(timing.timeline)
    result.profile_id = timing.profile_id
    if timing.device_profile:
        result.device_profiles = [dict(timing.device_profile)]
        if timing.device_profile.get("error"):  # the latency stands; only the profile is missing
            result.warnings.append(f"no device profile: {timing.device_profile['error']}")
    result.hints = list(timing.hints)
    result.timing_samples_us = list(timing.samples_us)
    result.timing_spread = timing.spread
    result.timing_rounds = timing.rounds
    base = ctx.baseline
    if base is not None and base.latency_us:
        result.baseline_latency_us = base.latency_us
        result.speedup = base.latency_us / timing.latency_us
    base_flops = base.profile.get("model_flops") if base is not None else None
    result.flags += speedup_flags(result.speedup, ctx.speedup_review, timing, base_flops)


def _check_work_scaling(timing: Timing, ctx: Context, result: EvalResult) -> None:
    """When correctness runs at small shapes and timing at full shapes, the compute must grow like the baseline's.

    A kernel that recognises the timed shapes and skips work there would otherwise pass the small check and
    report the cheap run's latency. What must scale with the problem is the computation (Tensor-engine MACs and
    the elements other compute engines process; every output element is written at both sizes, the trace check
    makes sure), not the bytes moved: loading an operand once and keeping it in SBUF is an optimisation, so DMA
    traffic is never compared. A kernel is refused only when its compute both grows far less than the
    baseline's and ends far below the baseline's at the timed shapes, so fixed set-up work that dilutes the
    growth of an otherwise full-size kernel is not mistaken for skipped work.
    """
    full, small = timing.facts, timing.check_facts
    if not ctx.job.timing_specs or full is None or small is None:
        return
    work_full, work_small = full.macs + full.compute_ops, small.macs + small.compute_ops
    result.compute_work = float(work_full)
    if work_small:
        result.work_scaling["compute"] = work_full / work_small
    if ctx.full_output_elems and result.errors:  # the outputs' growth: the problem's own scale, for the message
        small_elems = sum(e.size for e in result.errors if e.seed == ctx.job.seeds[0])
        if small_elems:
            result.work_scaling["output"] = sum(ctx.full_output_elems) / small_elems
    base = ctx.baseline
    mine, theirs = result.work_scaling.get("compute"), base.work_scaling.get("compute") if base else None
    if mine is None or not theirs or theirs <= 0:
        return
    # Without the baseline's full-size figure (an older cached baseline) the growth alone decides.
    share = work_full / base.compute_work if base.compute_work else 0.0
    if mine < 0.25 * theirs and share < 0.25:
        raise Verdict("rejected", f"from the check shapes to the timed shapes the kernel's compute (matmul MACs and "
                                  f"engine elements) grows {mine:.1f}x where the baseline's grows {theirs:.1f}x, "
                                  f"and at the timed shapes it is {share:.0%} of the baseline's; a kernel must do "
                                  "the same computation at every size, not special-case the timed shapes")
    if mine < 0.5 * theirs and share < 0.5:
        result.flags.append(FLAG_WORK_SCALING)


def _itemsize(name: str) -> int:
    from autocomp.evaluate.protocol import dtype_from_name

    return dtype_from_name(name).itemsize


def _warnings(report: WorkerReport, ctx: Context) -> list[str]:
    """The worker's warnings as single short lines naming the candidate file by its display name."""
    out = []
    for w in report.warnings[:MAX_WARNINGS]:
        line = " ".join(w.replace(ctx.kernel_path, ctx.job.display_name).split())
        if line and line not in out:
            out.append(line[:MAX_WARNING_CHARS])
    return out


def judge(outcome: Outcome, ctx: Context, result: EvalResult) -> EvalResult:
    """Fill ``result`` (status, reason, figures) from the worker's files and exit, timing the candidate with
    ``ctx.measure`` once its outputs are right."""
    try:
        report = _load_report(outcome, ctx)
        result.timings.update({f"worker_{k}": v for k, v in report.phases.items()})
        result.warnings = _warnings(report, ctx)
        if report.error is not None:  # a real error first: it is what the kernel's author needs to hear
            raise _error_verdict(report, ctx)
        if report.tampered:
            shown = ", ".join(report.tampered[:3])
            raise Verdict("rejected", f"the kernel modified {shown} while it ran; patching numpy, the builtins, "
                                      "the simulator or the evaluator is not allowed")
        if ctx.device_run is not None:
            _check_input_hashes(report, ctx, result)
            output_bytes, outputs = _check_device_outputs(ctx, result)
        else:
            output_bytes, outputs = _check_outputs(report, ctx, result)
        if ctx.measure is None:
            raise Verdict("runtime_error", "the evaluator has no way to time the kernel", flags=[FLAG_TOOL_ERROR])
        timing = _measure(ctx, result, outputs)
        _check_precision(ctx, result)
        _check_timing(timing, ctx, result, output_bytes)
    except Verdict as v:
        result.status, result.reason, result.location = v.status, v.reason, v.location
        result.flags += v.flags
        result.failure_at = v.failure_at
        return result
    n = len(ctx.job.seeds)
    speed = f" ({result.speedup:.2f}x the baseline's {result.baseline_latency_us:.2f} us)" if result.speedup else ""
    errs = (f"max abs error {result.max_abs:.3g}, rel L2 {result.rel_l2:.3g}" if result.max_abs is not None
            else "exact")
    result.status = "correct"
    result.reason = f"correct on {n} seeds ({errs}); {result.latency_us:.2f} us{speed}"
    return result


__all__ = ["Context", "OutputError", "judge"]
