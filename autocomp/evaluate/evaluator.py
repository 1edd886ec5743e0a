"""Evaluator: static gate, cache, sandboxed run, checks -> EvalResult, one candidate or many in parallel.

    ev = Evaluator("sim", workers=4)
    result = ev.evaluate(problem, source)
    for i, result in ev.iter_evaluate(problem, sources): ...   # as they finish
"""

from __future__ import annotations

import glob
import json
import math
import os
import queue
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autocomp.evaluate import isolation as isolation_modes
from autocomp.evaluate.backends import Backend, get_backend
from autocomp.evaluate.cache import EvalCache, ReferenceStore, default_cache_dir, eval_key
from autocomp.evaluate.executors.base import Executor
from autocomp.evaluate.executors.node import NodeJob, NodeRefused, place_outputs
from autocomp.evaluate.fsview import worker_view
from autocomp.evaluate.gate import check_source
from autocomp.evaluate.jobs import JobDir, create_job_dir, sweep_stale_job_dirs, unprivileged_ids, write_job
from autocomp.evaluate.measurer import MeasurerPool
from autocomp.evaluate.multishape import evaluate_shapes
from autocomp.evaluate.pool import WorkerPool
from autocomp.evaluate.protocol import REPORT_NAME, InputSpec, array_hash, dtype_name, load_array, read_report
from autocomp.evaluate.result import FLAG_TOOL_ERROR, EvalResult, Location
from autocomp.evaluate.sandbox import (
    Outcome,
    Worker,
    child_env,
    discard_worker,
    finish_worker,
    spawn_worker,
)
from autocomp.evaluate.trust import is_trusted
from autocomp.evaluate.verdict import Context, judge
from autocomp.nki import versions
from autocomp.problem import Problem
from autocomp.sources import HASH_CHARS, source_digest


def _job_fields(options: dict) -> dict:
    """write_job's and NodeJob's shared keyword arguments from one dict (backend under its own name)."""
    fields = dict(options)
    fields["backend"] = fields.pop("backend_name")
    return fields


class EvaluatorError(Exception):
    """The evaluation could not be carried out (a broken problem or toolchain), not a verdict on a candidate."""


def _traversable_by_others(path: Path) -> bool:
    """Every directory from / down to ``path`` lets other users pass through (o+x)."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def sandbox_needs(backend: Backend) -> tuple[list[str], list[str]]:
    """(read-only paths, device files) the backend's worker needs besides Python and autocomp: for the neuron
    backend the compiler's import paths, the tools' directories, /opt/aws/neuron, /sys (the runtime reads the
    devices' attributes) and the NeuronCore device files."""
    paths = list(backend.pythonpath()) + list(getattr(backend, "extra_path", []))
    devices: list[str] = []
    if backend.name == "neuron":
        paths += ["/opt/aws/neuron", "/sys"]
        devices = sorted(glob.glob("/dev/neuron*"))
        device = getattr(backend, "device", None)
        if device and device not in devices:
            devices.append(device)
    elif backend.name == "hw":  # compiling only: the SDK's files, never a device (the parent runs the NEFF)
        paths += ["/opt/aws/neuron"]
    return paths, devices


@dataclass
class RawRun:
    """What ``Evaluator.run_outputs`` saw: each run's outputs by run id, or the error that stopped the worker."""

    outputs: dict[int, list[np.ndarray]] = field(default_factory=dict)
    error: str | None = None
    log_tail: str = ""


class Evaluator:
    """Evaluates candidate kernels for problems, each in its own sandboxed process.

    ``backend``: "sim" (default), "hw" (alias "neuron"), "auto" or a Backend. ``workers``: parallel
    candidates (default: CPU cores). ``cache``: True (SQLite under ``cache_dir``), an
    EvalCache, or False. ``timeout_s`` overrides the problem's timeout. ``file_size_mb`` caps any file a
    worker writes (default: room for the largest output on the simulator, 2 GiB for compiler artifacts).
    ``prespawn`` keeps ``workers`` fresh worker processes started ahead of need (default: on unless the
    backend sets up each worker for its pool slot, as the neuron backend does with NeuronCores).
    ``isolation``: the sandbox, "auto" (the strongest that works here), "bwrap", "userns" or "none" (see
    isolation.py); ``self.isolation`` says which is in force, and so does every result. With "none", candidates
    other than the problem's own kernel and its knob settings (trust.py) are refused unless ``allow_unisolated``.
    ``measure_processes``: trusted processes that time candidates with the backend's measuring half (never
    candidate code: measurer.py), so parallel timings do not queue on this interpreter; default ``workers``
    for the simulator (the cost model is CPU-bound Python), 0 (this process's threads) otherwise.
    ``calibration``: a cost-model calibration file (path or ``autocomp.perf.calibration_source.CalibrationSource``)
    for the simulator's estimates. It is read and validated here, handed to the trusted measuring half only
    (never to a worker), keys the cache, and every result names it (``EvalResult.calibration``). A backend
    with hardware evidence measures instead of estimating and ignores it (``self.calibration`` is then None).
    ``timelines``: results also carry the engine timeline of the timed run (``EvalResult.timeline``), from the
    trusted measuring half; off by default, as it makes results large.
    ``executor``: where the sandboxed workers run (executors/: a ``RayExecutor`` runs each as a Ray task on a
    cluster, ``workers`` then defaulting to the cluster's CPUs); everything else stays in this process. None:
    workers run on this host from this evaluator's pool of spares. ``close`` closes the executor too.
    ``nki_version``: the release of the current dialect (``"0.6"``) every v2 problem's kernels follow here, over
    the problem's own ``nki_version``; default the one the simulator models (docs/nki-semantics.md#nki-versions).
    Every v2 result names the release it followed (``EvalResult.nki_version``).
    """

    def __init__(self, backend: str | Backend = "sim", *, workers: int | None = None, cache: bool | EvalCache = True,
                 cache_dir: str | Path | None = None, target: str | None = None, timeout_s: float | None = None,
                 memory_mb: int = 4096, file_size_mb: int | None = None, static_gate: bool = True,
                 isolation: str = "auto", drop_privileges: bool | None = None, speedup_review: float = 10.0,
                 work_dir: str | None = None, prespawn: bool | None = None, allow_unisolated: bool = False,
                 measure_processes: int | None = None, calibration=None, timelines: bool = False,
                 nki_version: str | None = None, executor: Executor | None = None):
        self.backend = get_backend(backend) if isinstance(backend, str) else backend
        self.executor = executor
        self.calibration = self._apply_calibration(calibration)  # before the measuring processes copy options
        self._calibration_target = self.calibration.parse().target if self.calibration is not None else None
        self.workers = max(1, workers or (executor.slots() if executor is not None else os.cpu_count()) or 1)
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cache = EvalCache(root / "evaluations.sqlite") if cache is True else (cache or None)
        self.references = ReferenceStore(root / "references")
        self.target = target
        try:  # a pin of the current dialect's release for every v2 problem evaluated here (over the problem's own)
            self.nki_version = versions.normalize(nki_version) if nki_version is not None else None
        except ValueError as e:
            raise EvaluatorError(str(e)) from None
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.file_size_mb = file_size_mb
        self.static_gate = static_gate
        try:
            self.isolation = isolation_modes.resolve(isolation)
        except (ValueError, isolation_modes.IsolationUnavailable) as e:
            raise EvaluatorError(str(e)) from None
        self.allow_unisolated = allow_unisolated
        self._requested_isolation = isolation
        want_drop = self.backend.drop_privileges() if drop_privileges is None else drop_privileges
        nobody = unprivileged_ids() if want_drop else None  # (root only)
        # Sandboxed, a root evaluator's worker is nobody from the start; unsandboxed, it drops to nobody itself.
        self.drop_to = nobody if self.isolation == "none" else None
        self.run_as = nobody if self.isolation != "none" else None
        self.speedup_review = speedup_review
        self.timelines = timelines
        self.work_dir = work_dir
        if self.drop_to is not None and work_dir is not None and not _traversable_by_others(Path(work_dir)):
            raise EvaluatorError(f"work_dir {work_dir}: the unprivileged worker user cannot reach it; make it and its "
                                 "parents searchable (chmod o+x) or pass drop_privileges=False")
        self._running: dict[int, Worker] = {}  # workers with a candidate, by pid (ended when a batch is abandoned)
        self._slots: queue.Queue[int] = queue.Queue()
        for i in range(self.workers):
            self._slots.put(i)
        self._lock = threading.Lock()
        # Re-entrant: a problem with declared shapes measures its baseline shape by shape through baseline().
        self._baseline_lock = threading.RLock()
        self._baselines: dict[tuple, EvalResult] = {}
        self._inputs: dict[tuple[str, int], tuple[tuple[np.ndarray, ...], list[str]]] = {}
        self._full_elems: dict[str, list[int] | None] = {}
        self._specs: dict[str, list[InputSpec]] = {}
        self._tool_version: str | None = None
        self._session = secrets.token_hex(8)
        if executor is not None:
            prespawn = False  # workers start on the executor's hosts, never here
        elif prespawn is None:
            prespawn = all(not self.backend.sandbox_env(i) for i in range(self.workers))
        self._pool = WorkerPool(self._spawn, spares=self.workers if prespawn else 0)
        sweep_stale_job_dirs(work_dir)
        weakref.finalize(self, self._pool.close)
        if measure_processes is None:
            measure_processes = self.workers if self.backend.evidence == "sim" else 0
        self._measurer = MeasurerPool(self.backend, measure_processes) if measure_processes > 0 else None
        if self._measurer is not None:
            weakref.finalize(self, self._measurer.close)

    # ------------------------------------------------------------------ public API
    @property
    def tool_version(self) -> str:
        if self._tool_version is None:
            self._tool_version = self.backend.tool_version()
        return self._tool_version

    def evaluate(self, problem: Problem, source: str, *, filename: str = "kernel.py",
                 seeds: list[int] | None = None) -> EvalResult:
        """Evaluate one candidate kernel source for ``problem``."""
        return self._evaluate(problem, source, filename=filename, seeds=seeds)

    def evaluate_first(self, problem: Problem, source: str, *, filename: str = "kernel.py") -> EvalResult:
        """A problem's first kernel, before it has one of its own (translation from its reference).

        Gated and sandboxed like any untrusted candidate, and checked against the reference on every seed, but with
        no baseline to compare with: no speedup, and no precision or work-scaling check against a baseline. The
        inputs it wrote are listed in ``mutated_inputs`` for the caller to refuse
        (docs/evaluation.md#a-first-kernel-without-a-baseline).
        """
        return self._evaluate(problem, source, filename=filename, first=True)

    def iter_evaluate(self, problem: Problem, sources: Iterable[str], *, seeds: list[int] | None = None,
                      filenames: list[str] | None = None) -> Iterator[tuple[int, EvalResult]]:
        """Evaluate many candidates in parallel; yields (index, result) as each finishes."""
        sources = list(sources)
        self.baseline(problem)  # once, before the pool, so every candidate compares with the same run
        by_digest: dict[str, list[int]] = {}
        for i, src in enumerate(sources):
            by_digest.setdefault(source_digest(src), []).append(i)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="autocomp-eval") as pool:
            futures = {pool.submit(self._evaluate, problem, sources[idx[0]],
                                   filename=filenames[idx[0]] if filenames else "kernel.py", seeds=seeds): idx
                       for idx in by_digest.values()}
            try:
                for fut in as_completed(futures):
                    result = fut.result()
                    first, *dups = futures[fut]
                    yield first, result
                    for i in dups:  # the device profile's files belong to the first (the run keeps them once)
                        yield i, result.model_copy(update={"cache_hit": True, "device_profiles": []}, deep=True)
            except BaseException:  # Ctrl-C, or the caller stopped early: no sandbox outlives the batch
                for fut in futures:
                    fut.cancel()
                with self._lock:
                    running = list(self._running.values())
                for worker in running:
                    discard_worker(worker)  # its evaluation then ends at once, as a failure nobody reads
                raise

    def evaluate_many(self, problem: Problem, sources: Iterable[str], *, seeds: list[int] | None = None,
                      filenames: list[str] | None = None) -> list[EvalResult]:
        """Evaluate many candidates in parallel; results in input order."""
        sources = list(sources)
        results: list[EvalResult | None] = [None] * len(sources)
        for i, result in self.iter_evaluate(problem, sources, seeds=seeds, filenames=filenames):
            results[i] = result
        return results  # type: ignore[return-value]

    def revalidate(self, problem: Problem, source: str, seeds: list[int] | None = None,
                   count: int = 3) -> EvalResult:
        """Re-check a winner on fresh seeds (random unless given) before it is reported."""
        if seeds is None:
            used = set(problem.spec.seeds)
            seeds = []
            while len(seeds) < count:
                s = secrets.randbelow(2**31 - 1)
                if s not in used and s not in seeds:
                    seeds.append(s)
        return self._evaluate(problem, source, seeds=list(seeds))

    def baseline(self, problem: Problem) -> EvalResult:
        """The problem's own kernel, measured by this evaluator's backend and flags (once per session)."""
        key = (problem.content_hash, self._target(problem))
        with self._baseline_lock:
            if key not in self._baselines:
                result = self._evaluate(problem, problem.baseline_source, is_baseline=True)
                if result.status != "correct":
                    at = f" at shape {problem.shape.label()}" if problem.shape is not None else ""
                    raise EvaluatorError(f"{problem.kernel_path}: the baseline kernel fails its own evaluation{at} "
                                         f"({result.status}): {result.reason}")
                self._baselines[key] = result
            return self._baselines[key]

    def run_outputs(self, source: str, *, function: str, dialect: str, target: str,
                    inputs: dict[int, tuple[np.ndarray, ...]], timeout_s: float = 600.0,
                    filename: str = "kernel.py") -> RawRun:
        """Run ``source``'s ``function`` on every input set in one sandboxed worker and hand back its outputs,
        unjudged (no reference, no timing): for callers that compare two kernels with each other, such as
        ``autocomp migrate``. Keys of ``inputs`` are the runs' ids (passed to the worker as its seeds)."""
        self.require_isolation()
        hashes = {k: [array_hash(a) for a in arrays] for k, arrays in inputs.items()}
        slot = self._slots.get()
        job_dir, worker = self._pool.take(slot)
        with self._lock:
            self._running[worker.proc.pid] = worker
        try:
            largest = max((a.size for arrays in inputs.values() for a in arrays), default=0)
            job = write_job(job_dir, source=source, display_name=filename, inputs=inputs, input_hashes=hashes,
                            timing_specs=None, backend=self.backend.name, backend_options=self.backend.options(),
                            target=target, dialect=dialect, function=function, memory_mb=self.memory_mb,
                            cpu_s=self._cpu_s(timeout_s),
                            file_size_mb=self.file_size_mb or 64 + math.ceil(largest * 8 / (1 << 20)) + 64)
            outcome = finish_worker(worker, timeout_s)
            tail = (outcome.stdout_tail[-600:] + outcome.stderr_tail[-600:]).strip()
            if outcome.timed_out:
                return RawRun(error=f"{filename}: timed out after {timeout_s:g} s", log_tail=tail)
            try:
                report = read_report(Path(job.output_dir) / REPORT_NAME)
            except (ValueError, OSError):
                return RawRun(error=f"{filename}: the worker ended without a report (exit code "
                                    f"{outcome.returncode})", log_tail=tail)
            if report.nonce != job.nonce:
                return RawRun(error=f"{filename}: the worker's report is not for this job", log_tail=tail)
            outputs = {}
            for run in report.runs:
                try:
                    outputs[run.seed] = [load_array(Path(job.output_dir), ref) for ref in run.outputs]
                except (ValueError, OSError) as e:
                    return RawRun(error=f"{filename}: output of run {run.seed} could not be read back: {e}",
                                  log_tail=tail)
            error = None
            if report.error is not None and (report.error.phase != "record" or not outputs):
                err = report.error
                where = f"{err.file}:{err.line}: " if err.file and err.line else ""
                code = f"[{err.code}] " if err.code.startswith("err_") else ""
                error = f"{where}{code}{err.message}"
            return RawRun(outputs=outputs, error=error, log_tail=tail)
        finally:
            with self._lock:
                self._running.pop(worker.proc.pid, None)
            if worker.proc.poll() is None:
                discard_worker(worker)
            self._slots.put(slot)
            job_dir.cleanup()

    def require_isolation(self) -> None:
        """Raise EvaluatorError (what to install, which flag to pass) unless untrusted candidates may run here."""
        if self.isolation == "none" and not self.allow_unisolated:
            raise EvaluatorError(isolation_modes.refusal(self._requested_isolation))

    def warm_up(self, timeout_s: float = 30.0) -> bool:
        """Start the spare worker processes now and wait until they are ready to take candidates."""
        return self._pool.wait_ready(timeout_s)

    def close(self) -> None:
        """Stop the spare workers, the measuring processes and the executor, and close the cache."""
        self._pool.close()
        if self._measurer is not None:
            self._measurer.close()
        close_backend = getattr(self.backend, "close", None)
        if callable(close_backend):  # the hw backend's device workers
            close_backend()
        if self.executor is not None:
            self.executor.close()
        if self.cache is not None:
            self.cache.close()

    # ------------------------------------------------------------------ one evaluation
    def _apply_calibration(self, calibration):
        """The calibration in force: given to a sim backend's trusted half; hardware evidence ignores one."""
        from autocomp.perf.calibration import CalibrationError
        from autocomp.perf.calibration_source import as_source

        if self.backend.evidence != "sim":
            return None
        if calibration is None:
            return getattr(self.backend, "calibration", None)  # a SimBackend made with one
        try:
            source = as_source(calibration)
        except CalibrationError as e:
            raise EvaluatorError(str(e)) from None
        use = getattr(self.backend, "use_calibration", None)
        if not callable(use):
            raise EvaluatorError(f"the {self.backend.name} backend cannot apply a cost-model calibration "
                                 f"({source.name}); drop the calibration or use the sim backend")
        use(source)
        return source

    def _target(self, problem: Problem) -> str:
        return self.target or problem.spec.target

    def _check_calibration_target(self, target: str) -> None:
        if self._calibration_target is not None and self._calibration_target != target:
            raise EvaluatorError(f"{self.calibration.name}: a calibration for {self._calibration_target}, but this "
                                 f"evaluation is on {target}; pass a {target} calibration (autocomp calibrate ... "
                                 f"--target {target}) or evaluate on {self._calibration_target}")

    def _settings(self, is_baseline: bool, first: bool = False) -> str:
        # Hardware timings (and speedups) belong to one session's baseline measurement, not to another's.
        session = self._session if self.backend.evidence == "hw" else ""
        settings = {"gate": self.static_gate, "timeout": self.timeout_s, "memory": self.memory_mb,
                    "baseline": is_baseline, "review": self.speedup_review, "session": session,
                    "isolation": self.isolation, "timeline": self.timelines}
        if first:  # judged without a baseline: another verdict than the same source's as a candidate
            settings["first"] = True
        if self.calibration is not None:  # a calibrated estimate is another answer than the built-in model's
            settings["calibration"] = self.calibration.sha256
        if self.nki_version is not None:
            settings["nki_version"] = self.nki_version
        return json.dumps(settings)

    def _nki_version(self, problem: Problem) -> str:
        """The NKI release a v2 problem's run follows: this evaluator's pin, the problem's, else the modelled one."""
        if problem.spec.dialect != "v2":
            return ""
        return versions.normalize(self.nki_version or problem.spec.nki_version)

    def _evaluate(self, problem: Problem, source: str, *, filename: str = "kernel.py",
                  seeds: list[int] | None = None, is_baseline: bool = False, first: bool = False) -> EvalResult:
        start = time.perf_counter()
        seeds = list(seeds or problem.spec.seeds)
        target = self._target(problem)
        self._check_calibration_target(target)
        digest = source_digest(source)
        key = eval_key(digest, problem.content_hash, self.backend.name, target, self.tool_version, seeds,
                       self._settings(is_baseline, first))
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit.model_copy(update={"cache_hit": True,
                                              "timings": {"total": time.perf_counter() - start}})
        if problem.shapes:
            return self._finish(key, self._evaluate_shapes(problem, source, filename, seeds, is_baseline, first),
                                start)
        base = None if is_baseline or first else self.baseline(problem)
        result = EvalResult(status="runtime_error", reason="", evidence=self.backend.evidence,
                            backend=self.backend.name, target=target, nki_version=self._nki_version(problem),
                            tool_version=self.tool_version, seeds=seeds,
                            problem=problem.name, problem_hash=problem.content_hash, source_hash=digest[:HASH_CHARS],
                            isolation=self.isolation,
                            calibration=self.calibration.label if self.calibration is not None else None)
        if self.static_gate and not is_baseline:
            t = time.perf_counter()
            gate = check_source(source, problem.spec.function, problem.baseline_source or None,
                                problem.spec.allowed_imports)
            result.timings["gate"] = time.perf_counter() - t
            if not gate.ok:
                v = gate.syntax_error or gate.violations[0]
                result.status = "compile_error" if gate.syntax_error else "rejected"
                result.reason = gate.reason(filename)
                result.location = Location(file=filename, line=v.line)
                return self._finish(key, result, start)
        if not is_baseline and (first or not is_trusted(problem, source)):
            self.require_isolation()  # never run an LLM's code unsandboxed unless the caller said so
        self._run(problem, source, filename, seeds, target, base, result)
        return self._finish(key, result, start)

    def _evaluate_shapes(self, problem: Problem, source: str, filename: str, seeds: list[int],
                         is_baseline: bool, first: bool) -> EvalResult:
        """A problem with declared shapes: one evaluation per shape (each cached and baselined on its own),
        combined (multishape.py); a candidate the static gate refuses is refused once, for every shape."""
        if self.static_gate and not is_baseline:
            gate = check_source(source, problem.spec.function, problem.baseline_source or None,
                                problem.spec.allowed_imports)
            if not gate.ok:
                v = gate.syntax_error or gate.violations[0]
                return EvalResult(status="compile_error" if gate.syntax_error else "rejected",
                                  reason=gate.reason(filename), location=Location(file=filename, line=v.line),
                                  evidence=self.backend.evidence, backend=self.backend.name,
                                  target=self._target(problem), nki_version=self._nki_version(problem),
                                  tool_version=self.tool_version, seeds=seeds, problem=problem.name,
                                  problem_hash=problem.content_hash, source_hash=source_digest(source)[:HASH_CHARS],
                                  isolation=self.isolation,
                                  calibration=self.calibration.label if self.calibration is not None else None)
        if is_baseline:
            return evaluate_shapes(problem, self.baseline)
        return evaluate_shapes(problem, lambda view: self._evaluate(view, source, filename=filename, seeds=seeds,
                                                                    first=first))

    def _finish(self, key: str, result: EvalResult, start: float) -> EvalResult:
        result.timings["total"] = time.perf_counter() - start
        if self.cache is not None and FLAG_TOOL_ERROR not in result.flags:
            # A staged device profile belongs to this measurement, not to the answers the cache will give later.
            self.cache.put(key, result.model_copy(update={"device_profiles": []}) if result.device_profiles
                           else result)
        return result

    def _run(self, problem: Problem, source: str, filename: str, seeds: list[int], target: str,
             base: EvalResult | None, result: EvalResult) -> None:
        t = time.perf_counter()
        inputs, hashes = {}, {}
        for s in seeds:
            inputs[s], hashes[s] = self._seed_inputs(problem, s)
        references = {s: self.references.get(problem, s, self.tool_version) for s in seeds}
        timing_specs = self._timing_specs(problem)
        result.timings["inputs"] = time.perf_counter() - t
        timeout = self.timeout_s or problem.spec.timeout_s
        if self._measurer is not None:
            self._measurer.start()  # they import while this candidate runs
        if self.executor is not None:
            self._run_on_executor(problem, source, filename, seeds, target, base, result, inputs, hashes, references,
                                  timing_specs, timeout)
            return
        slot = self._slots.get()
        job_dir, worker = self._pool.take(slot)
        with self._lock:
            self._running[worker.proc.pid] = worker
        try:
            job = write_job(job_dir, source=source, display_name=filename, inputs=inputs, input_hashes=hashes,
                            timing_specs=timing_specs, backend=self.backend.name,
                            backend_options=self.backend.options(), target=target, dialect=problem.spec.dialect,
                            nki_version=self._nki_version(problem), function=problem.spec.function,
                            memory_mb=self.memory_mb,
                            cpu_s=self._cpu_s(timeout), file_size_mb=self._file_size_mb(references))
            outcome = finish_worker(worker, timeout)
            result.timings["process"] = outcome.wall_s
            result.log_tail = (outcome.stdout_tail[-600:] + outcome.stderr_tail[-600:]).strip()
            t = time.perf_counter()
            # The backend's trusted half times the candidate here, in the parent: never in the worker, whose
            # interpreter ran candidate code.
            ctx = Context(problem=problem, job=job, input_hashes=hashes, references=references,
                          baseline=base, timeout_s=timeout, speedup_review=self.speedup_review,
                          full_output_elems=self._full_output_elems(problem),
                          measure=self._measurer or self.backend.measure,
                          kernel_lines=source.count("\n") + 1, inputs=inputs, env=self.backend.sandbox_env(slot),
                          timeline=self.timelines, device_run=getattr(self.backend, "run_on_device", None))
            judge(outcome, ctx, result)
            result.timings["check"] = time.perf_counter() - t
        finally:
            with self._lock:
                self._running.pop(worker.proc.pid, None)
            if worker.proc.poll() is None:
                discard_worker(worker)  # writing the job failed: never leave the worker behind
            self._slots.put(slot)
            job_dir.cleanup()

    def _run_on_executor(self, problem: Problem, source: str, filename: str, seeds: list[int], target: str,
                         base: EvalResult | None, result: EvalResult, inputs: dict, hashes: dict, references: dict,
                         timing_specs: list[InputSpec] | None, timeout: float) -> None:
        """Run the worker on one of the executor's hosts (executors/node.py), then judge its files here, as a
        local worker's: this process keeps the references, the checks, the timing and the verdict."""
        options = dict(backend_name=self.backend.name, backend_options=self.backend.options(), target=target,
                       dialect=problem.spec.dialect, nki_version=self._nki_version(problem),
                       function=problem.spec.function, memory_mb=self.memory_mb, cpu_s=self._cpu_s(timeout),
                       file_size_mb=self._file_size_mb(references))
        node_job = NodeJob(tool_version=self.tool_version, isolation=self._requested_isolation,
                           require_sandbox=not self.allow_unisolated and not is_trusted(problem, source),
                           source=source, display_name=filename, inputs=inputs, input_hashes=hashes,
                           timing_specs=timing_specs, timeout_s=timeout, device=self._worker_needs_device(),
                           **_job_fields(options))
        slot = self._slots.get()
        try:
            remote = self.executor.run(node_job)
        except NodeRefused as e:
            result.reason = str(e)
            result.flags.append(FLAG_TOOL_ERROR)
            return
        finally:
            self._slots.put(slot)
        result.isolation = remote.isolation  # the sandbox of the host that ran it
        result.timings["process"] = remote.wall_s
        result.log_tail = (remote.stdout_tail[-600:] + remote.stderr_tail[-600:]).strip()
        # This host's copy of the job, under the host's nonce: the kernel file the checks read, and the outputs.
        job_dir = create_job_dir(self.backend.name, self.backend.options(), None, self.work_dir, nonce=remote.nonce)
        try:
            job = write_job(job_dir, source=source, display_name=filename, inputs={s: () for s in seeds},
                            input_hashes=hashes, timing_specs=timing_specs, **_job_fields(options))
            place_outputs(remote.files, job_dir.out)
            outcome = Outcome(returncode=remote.returncode, timed_out=remote.timed_out, wall_s=remote.wall_s,
                              stdout_tail=remote.stdout_tail, stderr_tail=remote.stderr_tail, pgid=0,
                              leftovers=remote.leftovers)
            t = time.perf_counter()
            ctx = Context(problem=problem, job=job, input_hashes=hashes, references=references,
                          baseline=base, timeout_s=timeout, speedup_review=self.speedup_review,
                          full_output_elems=self._full_output_elems(problem),
                          measure=self._measurer or self.backend.measure,
                          kernel_lines=source.count("\n") + 1, inputs=inputs, env=self.backend.sandbox_env(0),
                          timeline=self.timelines, worker_kernel_path=remote.kernel_path or None,
                          device_run=getattr(self.backend, "run_on_device", None))
            judge(outcome, ctx, result)
            result.timings["check"] = time.perf_counter() - t
        finally:
            job_dir.cleanup()

    def _worker_needs_device(self) -> bool:
        """The worker itself runs on a NeuronCore (the legacy neuron backend); the hw backend's worker only
        compiles, and its device runs are started from here (run_on_device): on this machine's device workers,
        or as tasks on a cluster's NeuronCores (HwBackend.use_devices, executors/devices.py)."""
        return self.backend.evidence == "hw" and not callable(getattr(self.backend, "run_on_device", None))

    def _spawn(self, slot: int) -> tuple[JobDir, Worker]:
        job_dir = create_job_dir(self.backend.name, self.backend.options(), self.drop_to, self.work_dir,
                                 run_as=self.run_as, sandboxed=self.isolation != "none")
        try:
            env = child_env(str(job_dir.work), self.backend.sandbox_env(slot), self.backend.pythonpath())
            mounts = None
            if self.isolation != "none":
                ro, devices = sandbox_needs(self.backend)
                mounts = worker_view(job_dir.root, [job_dir.work, job_dir.root / "in", job_dir.out],
                                     extra_ro=ro, devices=devices)
            return job_dir, spawn_worker(job_dir.root, env, self.isolation, mounts, self.run_as)
        except BaseException:
            job_dir.cleanup()
            raise

    @staticmethod
    def _cpu_s(timeout: float) -> int:
        """The worker's CPU-time budget: above the wall-clock timeout, so a single-threaded loop is stopped by the
        timeout (status timeout), never first by SIGXCPU; threads that burn CPU faster still hit it."""
        return int(math.ceil(timeout)) + 5

    def _file_size_mb(self, references: dict[int, tuple[np.ndarray, ...]]) -> int:
        if self.file_size_mb is not None:
            return self.file_size_mb
        if self.backend.evidence == "hw":
            return 2048
        from autocomp.nki.trace_codec import MAX_BYTES

        largest = max((r.size for refs in references.values() for r in refs), default=0)
        # Outputs, room for logs and the largest instruction trace the parent accepts; never the whole disk.
        return 64 + math.ceil(largest * 8 / (1 << 20)) + (MAX_BYTES >> 20)

    # ------------------------------------------------------------------ problem data
    def _seed_inputs(self, problem: Problem, seed: int) -> tuple[tuple[np.ndarray, ...], list[str]]:
        key = (problem.content_hash, seed)
        with self._lock:
            cached = self._inputs.get(key)
        if cached is None:
            arrays = tuple(np.ascontiguousarray(a) for a in problem.inputs(seed))
            cached = (arrays, [array_hash(a) for a in arrays])
            with self._lock:
                self._inputs[key] = cached
        return cached

    def _timing_specs(self, problem: Problem) -> list[InputSpec] | None:
        """Full-size input shapes for check_shapes problems (generating full inputs is slow: once per problem)."""
        if not problem.spec.check_shapes:
            return None
        with self._lock:
            specs = self._specs.get(problem.content_hash)
        if specs is None:
            specs = [InputSpec(dtype=dtype_name(np.dtype(s.dtype)), shape=list(s.shape)) for s in problem.input_specs()]
            with self._lock:
                self._specs[problem.content_hash] = specs
        return specs

    def _full_output_elems(self, problem: Problem) -> list[int] | None:
        """Output sizes at full (timing) shapes for check_shapes problems, from one reference run, cached."""
        if not problem.spec.check_shapes:
            return None
        key = problem.content_hash
        if key not in self._full_elems:
            path = self.references.root / key / "full_output_sizes.json"
            try:
                sizes = json.loads(path.read_text())
            except (OSError, ValueError):
                full = problem.inputs(problem.spec.seeds[0], check=False)
                out = problem.reference_module.reference(*full)
                outs = out if isinstance(out, (tuple, list)) else (out,)
                sizes = [int(np.asarray(o).size) for o in outs]
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(sizes))
                except OSError:
                    pass
            self._full_elems[key] = sizes
        return self._full_elems[key]
