"""How faithful is the cost model? Published Trainium latencies of public NKI kernels against its estimates.

    python benchmarks/fidelity.py --sources DIR [--target trn1] [--only TEXT] [--json]

The fidelity set (``benchmarks/fidelity/*.toml``, described in ``benchmarks/fidelity/README.md``)
records, for each published kernel, where its source lives (repository, path, commit, function),
the shapes it was measured at, the target and the published latency with where it was published.
The kernels themselves are not copied into this repository: the benchmark reads each one from a
local git checkout of its repository under ``DIR``, at the recorded commit, loads it unchanged
into autocomp's simulator, traces it shape-only and schedules the trace with the cost model.
Make the checkouts once (full history: the set pins old commits):

    git clone https://github.com/aws-neuron/aws-neuron-sdk DIR/aws-neuron-sdk
    git clone https://github.com/aws-neuron/nki-samples   DIR/nki-samples

A checkout may be a work tree or a bare clone; files are read with ``git archive`` at the pinned
commit, so whatever is checked out does not matter. CI has no network, so CI does not run this.

Printed per target, over the entries of kind ``measured``: Spearman rank correlation within each
chain (the steps of one optimisation ladder or one shape sweep) and its mean over chains, pooled
Spearman over all entries, median absolute % error and the geometric-mean ratio model/measured.
Entries of kind ``bound`` are published upper limits (unit-test checks); the benchmark only says
how many estimates lie above their limit. Every kernel that fails to load, trace or schedule is
listed with its reason. Each kernel runs in its own process (a crash or a runaway trace stays
contained) with a time and memory limit.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import math
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from autocomp import targets
from autocomp.perf.fit import ranks, spearman  # noqa: F401 - part of this module's scoring API

DATA = Path(__file__).resolve().parent / "fidelity"
TARGETS = targets.names()  # every registered target record (autocomp/targets/)
KINDS = ("measured", "bound")
_HEX = set("0123456789abcdef")

# Fields of an entry: a data file's top-level keys are defaults for each of its [[kernel]] tables.
REQUIRED = ("id", "checkout", "repository", "path", "commit", "function", "target", "kind", "statistic",
            "published_us", "published_in", "published_commit", "where", "chain")
OPTIONAL = ("inputs", "scalars", "none_args", "grid", "sdk", "url", "instance", "note")


class DataError(ValueError):
    """A malformed fidelity data file; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Entry:
    """One published latency of one public kernel at one set of shapes."""

    id: str
    file: str
    checkout: str
    repository: str
    path: str
    commit: str
    function: str
    target: str
    kind: str
    statistic: str
    published_us: float
    published_in: str
    published_commit: str
    where: str
    chains: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    scalars: dict = field(default_factory=dict)
    none_args: tuple[str, ...] = ()
    grid: tuple[int, ...] = ()
    sdk: str = ""
    url: str = ""
    instance: str = ""
    note: str = ""


# --------------------------------------------------------------------------- data files

def _fail(where: str, message: str):
    raise DataError(f"{where}: {message}")


def _text(where: str, name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(where, f"field {name!r} must be a non-empty string, got {value!r}")
    return value


def _commit(where: str, name: str, value) -> str:
    value = _text(where, name, value)
    if len(value) != 40 or not set(value) <= _HEX:
        _fail(where, f"field {name!r} must be a full 40-digit lowercase commit hash, got {value!r}")
    return value


def _strings(where: str, name: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(where, f"field {name!r} must be a string or a list of strings, got {value!r}")
    return tuple(value)


def _tupled(value):
    """TOML arrays become tuples: kernels take shapes and window sizes as tuples."""
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def make_entry(raw: dict, file: str) -> Entry:
    """Validate one merged entry (file defaults + its [[kernel]] table)."""
    where = f"{file}: kernel {raw.get('id', '?')!r}"
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        _fail(where, f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(REQUIRED + OPTIONAL)}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        _fail(where, f"missing field(s) {', '.join(missing)}")
    if raw["target"] not in TARGETS:
        _fail(where, f"target {raw['target']!r} is not one of {', '.join(TARGETS)}")
    if raw["kind"] not in KINDS:
        _fail(where, f"kind {raw['kind']!r} is not one of {', '.join(KINDS)}")
    us = raw["published_us"]
    if isinstance(us, bool) or not isinstance(us, (int, float)) or not math.isfinite(us) or us <= 0:
        _fail(where, f"published_us must be a positive number of microseconds, got {us!r}")
    path = _text(where, "path", raw["path"])
    if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
        _fail(where, f"path {path!r} must be relative to the repository root")
    inputs = _strings(where, "inputs", raw.get("inputs", []))
    try:
        from autocomp.nki.shapes import parse_shape_spec
        names = [parse_shape_spec(text)[0] for text in inputs]
    except ValueError as e:
        _fail(where, str(e))
    scalars = raw.get("scalars", {})
    if not isinstance(scalars, dict):
        _fail(where, f"scalars must be a table of NAME = value, got {scalars!r}")
    none_args = _strings(where, "none_args", raw.get("none_args", []))
    given = names + list(scalars) + list(none_args)
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        _fail(where, f"argument(s) {', '.join(twice)} given more than once (inputs, scalars, none_args)")
    grid = raw.get("grid", [])
    if not isinstance(grid, list) or not all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in grid):
        _fail(where, f"grid must be a list of positive integers, e.g. [1, 4], got {grid!r}")
    return Entry(
        id=_text(where, "id", raw["id"]), file=file, checkout=_text(where, "checkout", raw["checkout"]),
        repository=_text(where, "repository", raw["repository"]), path=path,
        commit=_commit(where, "commit", raw["commit"]), function=_text(where, "function", raw["function"]),
        target=raw["target"], kind=raw["kind"], statistic=_text(where, "statistic", raw["statistic"]),
        published_us=float(us), published_in=_text(where, "published_in", raw["published_in"]),
        published_commit=_commit(where, "published_commit", raw["published_commit"]),
        where=_text(where, "where", raw["where"]), chains=_strings(where, "chain", raw["chain"]),
        inputs=inputs, scalars={k: _tupled(v) for k, v in scalars.items()}, none_args=none_args,
        grid=tuple(grid), sdk=str(raw.get("sdk", "")), url=str(raw.get("url", "")),
        instance=str(raw.get("instance", "")), note=str(raw.get("note", "")))


def load_file(path: Path) -> list[Entry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"{path}: not valid TOML: {e}") from None
    kernels = data.pop("kernel", None)
    if not isinstance(kernels, list) or not kernels:
        raise DataError(f"{path}: no [[kernel]] tables; each published latency is one [[kernel]]")
    return [make_entry({**data, **k}, str(path)) for k in kernels]


def load_entries(data_dir: Path = DATA) -> list[Entry]:
    """Every entry of every ``*.toml`` file in ``data_dir``; ids are unique across files."""
    files = sorted(Path(data_dir).glob("*.toml"))
    if not files:
        raise DataError(f"{data_dir}: no *.toml fidelity data files")
    entries, seen = [], {}
    for path in files:
        for e in load_file(path):
            if e.id in seen:
                raise DataError(f"{path}: kernel id {e.id!r} already used in {seen[e.id]}")
            seen[e.id] = str(path)
            entries.append(e)
    return entries


# --------------------------------------------------------------------------- statistics

# ranks and spearman: the cost model's own implementation (autocomp.perf.fit), one definition for both.


def median_abs_pct_error(measured: list[float], model: list[float]) -> float | None:
    """Median of |model / measured - 1|, in percent."""
    if not measured:
        return None
    return statistics.median(abs(b / a - 1) for a, b in zip(measured, model)) * 100


def geomean_ratio(measured: list[float], model: list[float]) -> float | None:
    """Geometric mean of model / measured: above 1 means the model is too slow overall."""
    if not measured:
        return None
    return math.exp(statistics.fmean(math.log(b / a) for a, b in zip(measured, model)))


def _chain_score(items: list[tuple[float, float]]) -> dict:
    measured, model = [a for a, _ in items], [b for _, b in items]
    rho = spearman(measured, model)
    flat_model = len(set(model)) == 1 and len(set(measured)) > 1
    return {"n": len(items), "spearman": rho, "flat": flat_model,
            "measured_spread": max(measured) / min(measured), "model_spread": max(model) / min(model),
            "median_abs_pct_error": median_abs_pct_error(measured, model),
            "geomean_ratio": geomean_ratio(measured, model)}


def score(entries: list[Entry], estimates: dict[str, float], failures: dict[str, str]) -> dict:
    """Per target: summary statistics, per-chain statistics, bound checks and failures.

    Within-chain Spearman is averaged over chains with at least two estimated entries; a chain
    the model scores flat while the measurements move counts as 0 (it ranks nothing).
    """
    report = {}
    for target in sorted({e.target for e in entries}):
        mine = [e for e in entries if e.target == target]
        measured = [e for e in mine if e.kind == "measured"]
        done = [e for e in measured if e.id in estimates]
        chains: dict[str, list[tuple[float, float]]] = {}
        for e in done:
            for c in e.chains:
                chains.setdefault(c, []).append((e.published_us, estimates[e.id]))
        chain_scores = {c: _chain_score(items) for c, items in sorted(chains.items()) if len(items) >= 2}
        rhos = [0.0 if s["flat"] else s["spearman"] for s in chain_scores.values()
                if s["flat"] or s["spearman"] is not None]
        xs, ys = [e.published_us for e in done], [estimates[e.id] for e in done]
        bounds = [e for e in mine if e.kind == "bound" and e.id in estimates]
        above = sorted(((estimates[e.id] / e.published_us, e.id) for e in bounds
                        if estimates[e.id] > e.published_us), reverse=True)
        report[target] = {
            "measured": len(measured), "estimated": len(done),
            "spearman_within_chains": statistics.fmean(rhos) if rhos else None, "chains_ranked": len(rhos),
            "pooled_spearman": spearman(xs, ys),
            "median_abs_pct_error": median_abs_pct_error(xs, ys), "geomean_ratio": geomean_ratio(xs, ys),
            "chains": chain_scores,
            "bounds": {"n": sum(e.kind == "bound" for e in mine), "estimated": len(bounds), "above": len(above),
                       "worst": [{"id": i, "ratio": r} for r, i in above[:3]]},
            "failures": [{"id": e.id, "reason": failures[e.id]} for e in mine if e.id in failures],
        }
    return report


# --------------------------------------------------------------------------- running kernels

class SourceError(Exception):
    """A kernel file that cannot be read from the checkouts; the message says what to do."""


def _git(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, timeout=300)


def materialise(sources: Path, entry: Entry, cache: Path) -> Path:
    """The kernel's directory at the pinned commit, extracted under ``cache``; returns the kernel file."""
    checkout = sources / entry.checkout
    clone = f"git clone {entry.repository} {checkout}"
    if not checkout.is_dir():
        raise SourceError(f"no checkout {checkout}: make it with `{clone}`")
    if _git(checkout, "rev-parse", "--git-dir").returncode != 0:
        raise SourceError(f"{checkout} is not a git repository; the set pins commits: `{clone}`")
    if _git(checkout, "cat-file", "-e", f"{entry.commit}^{{commit}}").returncode != 0:
        raise SourceError(f"commit {entry.commit[:12]} is not in {checkout}: `git -C {checkout} fetch origin` "
                          "(a shallow clone lacks old commits)")
    folder = str(PurePosixPath(entry.path).parent)
    dest = cache / f"{entry.checkout}-{entry.commit[:12]}"
    marker = dest / ".extracted" / folder.replace("/", "__")
    if not marker.exists():
        done = _git(checkout, "archive", "--format=tar", entry.commit, "--", folder)
        if done.returncode != 0:
            raise SourceError(f"{entry.path} is not in {entry.checkout} at {entry.commit[:12]}: "
                              f"{done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            # Paths inside a fetched archive are not trusted: the data filter refuses escapes and links out.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # Python without extraction filters: git archive of a pinned commit, names checked here
                for member in tar.getmembers():
                    if member.name.startswith("/") or ".." in PurePosixPath(member.name).parts:
                        raise SourceError(f"{entry.checkout} at {entry.commit[:12]}: unsafe path {member.name!r}")
                tar.extractall(dest)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    kernel = dest / entry.path
    if not kernel.is_file():
        raise SourceError(f"{entry.path} is not a file in {entry.checkout} at {entry.commit[:12]}")
    return kernel


def _bind(fn, entry: Entry) -> tuple[list, dict]:
    """Arguments by parameter name: leading given parameters positionally, the rest by keyword."""
    from autocomp.nki.shapes import TensorSpec, parse_shape_spec

    given: dict[str, object] = {}
    for text in entry.inputs:
        name, spec = parse_shape_spec(text)
        given[name] = TensorSpec(spec.shape, spec.dtype)
    given.update(entry.scalars)
    given.update({n: None for n in entry.none_args})
    params = [p for p in inspect.signature(getattr(fn, "func", fn)).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    names = [p.name for p in params]
    unknown = [n for n in given if n not in names]
    if unknown:
        raise TypeError(f"{', '.join(unknown)}: not parameters of {entry.function}({', '.join(names)})")
    args, kwargs, positional = [], {}, True
    for p in params:
        if p.name not in given:
            if p.default is p.empty:
                raise TypeError(f"no value for parameter {p.name!r} of {entry.function}")
            positional = False
            continue
        if positional and p.kind != p.KEYWORD_ONLY:
            args.append(given[p.name])
        else:
            kwargs[p.name] = given[p.name]
    return args, kwargs


def estimate_here(kernel_file: str, entry: Entry, points: list | None = None, calibration: str | None = None) -> dict:
    """Load, trace shape-only and profile one kernel in this process: {latency_us, low_us, high_us,
    estimate_class, instructions, seconds}; with ``points`` (calibration parameter dicts) also
    ``points``: [[latency_us, estimate_class], ...] of the kernel with each point's parameters."""
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel
    from autocomp.perf import get_target, profile
    from autocomp.perf.calibration import load_calibration

    sys.path.insert(0, str(Path(kernel_file).parent))  # sibling modules of the kernel file
    fn = load_kernel(kernel_file, entry.function, entry.target)
    args, kwargs = _bind(fn, entry)
    start = time.perf_counter()
    result = run_kernel(fn, args, kwargs or None, target=entry.target, grid=entry.grid,
                        dialect=getattr(fn, "dialect", "v1"), numerics=False)
    cal = load_calibration(calibration) if calibration else None
    prof = profile(result.trace, entry.target, calibration=cal)
    out = {"latency_us": float(prof.latency_us), "low_us": prof.latency_low_us, "high_us": prof.latency_high_us,
           "estimate_class": prof.estimate_class, "instructions": len(result.trace),
           "seconds": time.perf_counter() - start}
    if points:
        base = cal.apply(entry.target) if cal else get_target(entry.target)
        out["points"] = [[profile(result.trace, base.with_calibration(**pt) if pt else base).latency_us,
                          prof.estimate_class] for pt in points]
    return out


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _child(job_file: str) -> None:
    """Entry point of the per-kernel process: read the job, write the result next to it."""
    job = json.loads(Path(job_file).read_text())
    entry = next(e for e in load_file(Path(job["data_file"])) if e.id == job["id"])
    limit = job.get("memory_bytes")
    if limit:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        out = estimate_here(job["kernel"], entry, job.get("points"), job.get("calibration"))
    except MemoryError:
        out = {"error": f"MemoryError: over the {limit / 2**30:.0f} GiB memory limit (--memory-gb)"}
    except BaseException as e:  # the kernel's own failure is the result being measured
        out = {"error": _one_line(f"{type(e).__name__}: {e}")}
    Path(job["result"]).write_text(json.dumps(out))


def estimate(entry: Entry, kernel_file: Path, work: Path, timeout: float, memory_gb: float,
             points: list | None = None, calibration: str | None = None) -> dict:
    """Run ``estimate_here`` in a fresh process: the kernel's crash, hang or imports stay there."""
    job, result = work / f"{entry.id}.job.json", work / f"{entry.id}.result.json"
    result.unlink(missing_ok=True)
    job.write_text(json.dumps({"data_file": entry.file, "id": entry.id, "kernel": str(kernel_file),
                               "result": str(result), "memory_bytes": int(memory_gb * 2**30) if memory_gb else None,
                               "points": points, "calibration": calibration}))
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "--child", str(job)], capture_output=True, timeout=timeout,
                              cwd=str(work))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s (--timeout)", "wall": time.perf_counter() - start}
    wall = time.perf_counter() - start
    root = str(kernel_file)[: -len(entry.path)]  # where the pinned tree was extracted
    if result.exists() and "error" in (out := json.loads(result.read_text())):
        out["error"] = out["error"].replace(root, f"{entry.checkout}@{entry.commit[:12]}:")
        return {**out, "wall": wall}
    if not result.exists():
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return {"error": _one_line(f"the kernel process died: {tail[0]}"), "wall": wall}
    return {**json.loads(result.read_text()), "wall": wall}


# --------------------------------------------------------------------------- output

def _f(value, spec: str, none: str = "-") -> str:
    return none if value is None else format(value, spec)


def render(entries: list[Entry], results: dict[str, dict], report: dict) -> str:
    files = sorted({Path(e.file).name for e in entries})
    lines = [f"fidelity set: {len(entries)} entries from {', '.join(files)}", ""]
    for target, r in report.items():
        mine = [e for e in entries if e.target == target]
        lines.append(f"{target}: {r['measured']} measured entries ({r['estimated']} estimated), "
                     f"{len({c for e in mine if e.kind == 'measured' for c in e.chains})} chains, "
                     f"{r['bounds']['n']} bounds")
        if r["estimated"]:
            lines.append(f"  Spearman within chains {_f(r['spearman_within_chains'], '.2f')} "
                         f"(mean of {r['chains_ranked']})   pooled Spearman {_f(r['pooled_spearman'], '.2f')}   "
                         f"median |error| {r['median_abs_pct_error']:.0f}%   "
                         f"geomean model/measured {r['geomean_ratio']:.2f}x")
        if r["chains"]:
            lines.append(f"  {'chain':<40}{'n':>3}{'measured spread':>17}{'model spread':>14}{'Spearman':>10}"
                         f"{'median |err|':>14}{'geomean':>9}")
            for name, c in r["chains"].items():
                rho = "flat" if c["flat"] else _f(c["spearman"], ".2f")
                lines.append(f"  {name:<40}{c['n']:>3}{c['measured_spread']:>16.2f}x{c['model_spread']:>13.2f}x"
                             f"{rho:>10}{_f(c['median_abs_pct_error'], '.0f'):>13}%{c['geomean_ratio']:>8.2f}x")
        width = max(len(e.id) for e in mine) + 2
        lines.append(f"  {'entry':<{width}}{'kind':>9}{'published us':>14}{'model us':>12}{'ratio':>8}"
                     f"{'trace+profile s':>17}")
        for e in mine:
            res = results.get(e.id, {})
            model = res.get("latency_us")
            ratio = _f(model / e.published_us if model else None, ".2f")
            lines.append(f"  {e.id:<{width}}{e.kind:>9}{e.published_us:>14,.1f}{_f(model, ',.1f'):>12}{ratio:>8}"
                         f"{_f(res.get('seconds'), '.1f'):>17}")
        b = r["bounds"]
        if b["n"]:
            worst = ", ".join(f"{w['id']} {w['ratio']:.2f}x" for w in b["worst"])
            lines.append(f"  bounds: {b['above']} of {b['estimated']} estimates lie above the published limit"
                         + (f" (worst: {worst})" if worst else ""))
        if r["failures"]:
            lines.append(f"  failed to simulate ({len(r['failures'])}):")
            lines += [f"    {f['id']}: {f['reason']}" for f in r["failures"]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, help="directory holding the git checkouts (see above)")
    parser.add_argument("--target", choices=TARGETS, help="only this target's entries")
    parser.add_argument("--only", default="", help="only entries whose id contains this text")
    parser.add_argument("--data", type=Path, default=DATA, help="fidelity data directory (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per kernel (default: %(default)s)")
    parser.add_argument("--memory-gb", type=float, default=8, help="memory limit per kernel (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--calibration", type=Path, help="apply this calibration file (autocomp calibrate) first")
    parser.add_argument("--bands", action="store_true",
                        help="also print the model's error per estimate class (autocomp.perf.uncertainty bands)")
    parser.add_argument("--split", action="store_true",
                        help="also calibrate on half of the measured entries and report the error on the other half")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    if args.sources is None:
        parser.error("--sources DIR is required: the directory with the git checkouts the set names")
    if not args.sources.is_dir():
        parser.error(f"--sources {args.sources}: no such directory")
    try:
        entries = load_entries(args.data)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    entries = [e for e in entries if (args.target is None or e.target == args.target) and args.only in e.id]
    if not entries:
        print("error: no entries match --target/--only", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    kernels: dict[str, Path] = {}
    extra: dict = {}
    with tempfile.TemporaryDirectory(prefix="autocomp-fidelity-") as tmp:
        cache, work = Path(tmp) / "src", Path(tmp) / "work"
        work.mkdir()
        for i, e in enumerate(entries, 1):
            try:
                kernel = materialise(args.sources.resolve(), e, cache)
            except (SourceError, subprocess.TimeoutExpired) as err:
                results[e.id] = {"error": _one_line(str(err))}
            else:
                kernels[e.id] = kernel
                results[e.id] = estimate(e, kernel, work, args.timeout, args.memory_gb,
                                         calibration=str(args.calibration) if args.calibration else None)
            if not args.json:
                res = results[e.id]
                status = (f"{res['latency_us']:,.1f} us" if "latency_us" in res else "FAILED")
                print(f"[{i}/{len(entries)}] {e.id}: {status} ({res.get('wall', 0):.1f} s)", file=sys.stderr)
        if args.split:
            extra["split"] = split_check(entries, results, kernels, work, args)
    if args.bands:
        extra["bands"] = bands(entries, results)
    estimates = {k: v["latency_us"] for k, v in results.items() if "latency_us" in v}
    failures = {k: v["error"] for k, v in results.items() if "error" in v}
    report = score(entries, estimates, failures)
    if args.json:
        print(json.dumps({"report": report, "results": results, **extra}, indent=2))
    else:
        print(render(entries, results, report))
        if "bands" in extra:
            print(render_bands(extra["bands"]))
        if "split" in extra:
            print(render_split(extra["split"]))
    return 0


# --------------------------------------------------------------------------- error bands and held-out check

def _measured(entries: list[Entry], results: dict[str, dict]) -> list[Entry]:
    return [e for e in entries if e.kind == "measured" and "latency_us" in results.get(e.id, {})]


def bands(entries: list[Entry], results: dict[str, dict]) -> dict:
    """Per target, the model's error bands per estimate class over the measured entries."""
    from autocomp.perf.uncertainty import bands_from_residuals

    out = {}
    for target in sorted({e.target for e in entries}):
        rows = [(results[e.id]["estimate_class"], math.log(e.published_us / results[e.id]["latency_us"]), e.chains[0])
                for e in _measured(entries, results) if e.target == target]
        inside = [e for e in _measured(entries, results) if e.target == target
                  and results[e.id]["low_us"] <= e.published_us <= results[e.id]["high_us"]]
        if rows:
            out[target] = {"bands": {k: b.to_dict() for k, b in bands_from_residuals(
                rows, f"benchmarks/fidelity.py, {len(rows)} measured {target} entries").items()},
                "inside_interval": len(inside), "measured": len(rows)}
    return out


def render_bands(data: dict) -> str:
    lines = []
    for target, d in data.items():
        lines.append(f"{target}: {d['inside_interval']} of {d['measured']} measured latencies lie inside the "
                     "model's interval; error bands ln(measured/model) per estimate class:")
        for cls, b in d["bands"].items():
            lines.append(f"  {cls:<9} n={b['n']:<3} bias {b['log_bias']:+.3f}  sigma {b['log_sigma']:.3f}  "
                         f"pair sigma {b['pair_sigma']:.3f}")
    return "\n".join(lines) + "\n"


def split_check(entries: list[Entry], results: dict[str, dict], kernels: dict[str, Path], work: Path,
                args) -> dict:
    """Calibrate on half of each target's measured entries (alternating within chains), then compare
    the error on the other half before and after. Kernels run in child processes, re-traced for each
    batch of parameter points the fit asks for."""
    from autocomp.perf.calibration import load_calibration
    from autocomp.perf.fit import Measurement, error_stats, fit, split_halves

    start = load_calibration(args.calibration) if args.calibration else None
    out = {}
    for target in sorted({e.target for e in entries}):
        mine = [e for e in _measured(entries, results) if e.target == target]
        if len(mine) < 4:
            continue
        ms = [Measurement(e.id, e.published_us, None, target, e.chains[0]) for e in mine]
        first, second = split_halves(ms)
        train = [mine[i] for i in first]

        def evaluate(points, train=train):
            rows = [[] for _ in points]
            for e in train:
                res = estimate(e, kernels[e.id], work, args.timeout, args.memory_gb, points=list(points),
                               calibration=str(args.calibration) if args.calibration else None)
                if "points" not in res:
                    raise RuntimeError(f"{e.id}: {res.get('error', 'no result')}")
                for row, (lat, cls) in zip(rows, res["points"]):
                    row.append((lat, cls))
            return rows

        print(f"calibrating {target} on {len(first)} entries (held out: {len(second)}) ...", file=sys.stderr)
        result = fit([ms[i] for i in first], target, start=start, evaluator=evaluate, iterations=3)
        point = result.changed  # only what cross-validation on the training half let move
        held = [mine[i] for i in second]
        before_us = [results[e.id]["latency_us"] for e in held]
        after = list(before_us)
        if point:
            after = []
            for e in held:
                res = estimate(e, kernels[e.id], work, args.timeout, args.memory_gb, points=[point],
                               calibration=str(args.calibration) if args.calibration else None)
                if "points" not in res:
                    raise RuntimeError(f"{e.id}: {res.get('error', 'no result')}")
                after.append(res["points"][0][0])
        measured = [e.published_us for e in held]
        chains = [e.chains[0] for e in held]
        out[target] = {"fit_on": [e.id for e in train], "held_out": [e.id for e in held],
                       "parameters": result.parameters, "selected": result.selected,
                       "prior_weight": result.prior_weight, "selection": result.selection,
                       "unidentified": result.unidentified,
                       "train_before": result.before.to_dict(), "train_after": result.after.to_dict(),
                       "held_out_before": error_stats(measured, before_us, chains).to_dict(),
                       "held_out_after": error_stats(measured, after, chains).to_dict(),
                       "held_out_entries": [{"id": e.id, "measured_us": m, "before_us": b, "after_us": a}
                                            for e, m, b, a in zip(held, measured, before_us, after)]}
    return out


def render_split(data: dict) -> str:
    lines = []
    for target, d in data.items():
        lines.append(f"{target}: calibrated on {len(d['fit_on'])} entries, tested on the other {len(d['held_out'])}")
        for label, key in (("train before", "train_before"), ("train after", "train_after"),
                           ("held-out before", "held_out_before"), ("held-out after", "held_out_after")):
            st = d[key]
            rho = "-" if st["spearman"] is None else f"{st['spearman']:.2f}"
            within = "-" if st["spearman_within_chains"] is None else f"{st['spearman_within_chains']:.2f}"
            lines.append(f"  {label:<16} rms log error {st['rms_log_error']:.3f}  median |error| "
                         f"{st['median_abs_pct_error']:.0f}%  Spearman within chains {within}  geomean "
                         f"{st['geomean_model_over_measured']:.2f}x  pooled Spearman {rho}")
        moved = ", ".join(f"{k}={d['parameters'][k]:.4g}" for k in d["selected"])
        lines.append("  fitted (chosen by cross-validation on the training half"
                     + (f", pull {d['prior_weight']:g}): {moved}" if moved else
                        "): nothing, no parameter beat the noise: the starting model is kept"))
        lines += [f"    {line}" for line in selection_path(d["selection"], d["selected"])]
    return "\n".join(lines) + "\n"


def selection_path(selection: dict, selected: list[str]) -> list[str]:
    """The forward path cross-validation chose from, one line per added parameter (* = chosen)."""
    from autocomp.perf.crossval import path_lines

    return path_lines(selection, selected)


if __name__ == "__main__":
    sys.exit(main())
