"""Finding runs: list a runs directory, resolve what a user typed (id, prefix or path) to one run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autocomp.store import schema
from autocomp.store.errors import RunNotFoundError, StoreError
from autocomp.store.lock import writer_alive
from autocomp.store.reader import RunReader

DEFAULT_RUNS_DIR = Path("runs")


@dataclass(frozen=True)
class RunSummary:
    """One line of ``autocomp runs list``; ``error`` is set for a run that cannot be read."""

    run_id: str
    path: Path
    problem: str = ""
    status: str = ""
    best_speedup: float | None = None
    best_latency_us: float | None = None
    evaluations: int = 0
    llm_cost_usd: float = 0.0
    created: float = 0.0
    evidence: str | None = None
    error: str | None = None


def effective_status(reader: RunReader) -> str:
    """The stored status, except a 'running' run whose writer is gone shows as 'interrupted'."""
    status = reader.info.status
    if status == "running" and not writer_alive(reader.root):
        return "interrupted"
    return status


def summarize(path: Path) -> RunSummary:
    """A RunSummary of one run directory; unreadable runs are reported, not raised."""
    try:
        with RunReader.open_readonly(path) as run:
            info = run.info
            best = run.best()
            # The directory's name, which is what `runs show` and the other commands accept (a copied or
            # renamed run keeps its stored run_id).
            return RunSummary(run_id=path.name, path=path, problem=info.problem, status=effective_status(run),
                              best_speedup=best.speedup if best else None,
                              best_latency_us=best.latency_us if best else None,
                              evaluations=run.counts()["evaluations"], llm_cost_usd=run.total_cost_usd(),
                              created=info.created, evidence=best.evidence if best else None)
    except StoreError as e:
        return RunSummary(run_id=path.name, path=path, status="unreadable", error=str(e))
    except Exception as e:  # whatever is wrong with one run, the listing of the others goes on
        return RunSummary(run_id=path.name, path=path, status="unreadable",
                          error=f"{path / schema.DB_NAME}: cannot be read ({type(e).__name__}: {e}); nothing was "
                                "changed")


def run_dirs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> list[Path]:
    """Run directories under ``runs_dir`` (those holding a run.sqlite), sorted by name (= creation time)."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / schema.DB_NAME).is_file())


def list_runs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> list[RunSummary]:
    return [summarize(p) for p in run_dirs(runs_dir)]


def resolve_run(ref: str | Path, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Path:
    """The run directory named by ``ref``: a path, a run id in ``runs_dir``, or an unambiguous id prefix.

    A ref that prefixes no id may be a unique part of one (its hex suffix or problem name).
    """
    ref_path = Path(ref)
    if (ref_path / schema.DB_NAME).is_file():
        return ref_path
    if ref_path.name == schema.DB_NAME and ref_path.is_file():
        return ref_path.parent
    if ref_path.exists():
        raise RunNotFoundError(f"{ref_path}: not a run directory (no {schema.DB_NAME} in it)")
    dirs = run_dirs(runs_dir)
    exact = [p for p in dirs if p.name == str(ref)]
    if exact:
        return exact[0]
    matches = [p for p in dirs if p.name.startswith(str(ref))]
    if not matches:  # e.g. the 4-hex suffix or the problem name
        matches = [p for p in dirs if str(ref) in p.name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        hint = f"; runs there: {', '.join(p.name for p in dirs[-5:])}" if dirs else ""
        raise RunNotFoundError(f"no run {str(ref)!r} in {runs_dir}/ (give a run id, a unique prefix or a path; "
                               f"list runs with `autocomp runs list --runs-dir {runs_dir}`){hint}")
    raise RunNotFoundError(f"{str(ref)!r} matches {len(matches)} runs in {runs_dir}/: "
                           f"{', '.join(p.name for p in matches[:6])}; give more of the id")
