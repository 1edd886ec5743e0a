"""Crash safety: SIGKILL `autocomp optimize` at chosen points, resume, and compare with an uninterrupted run.

A resumed run must be the uninterrupted run with the same seed and the same LLM answers, candidate for
candidate: same ids, parents, kernels, verdicts, latencies, iterations, beams, decisions and winner. The
killed runs and their resumes go through the CLI in a subprocess (tests/fakes/crash_driver.py puts the fake
evaluator at its seam), the uninterrupted run through the same CLI and seam in this process; the fake LLM
answers are a pure function of the prompt (tests/fakes/search.py, hashed_answer), so any difference in what a
resumed run asks shows up as a different kernel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autocomp.store import RunReader
from tests.fakes import child_env
from tests.fakes.crash_driver import run_here
from tests.fakes.llm_server import FakeLLMServer, Reply, SeenRequest
from tests.fakes.search import grid_latency, grid_problem, hashed_openai
from tests.fakes.search_traces import differences, prompts_asked, run_trace

CLI = [sys.executable, "-c", "from autocomp.cli import main; main()", "optimize"]
DRIVER = [sys.executable, "-m", "tests.fakes.crash_driver", "optimize"]
# Only a guard against a hung test: no outcome depends on it.
DEADLINE_S = 180


def slow_hashed(req: SeenRequest) -> Reply:
    reply = hashed_openai(req)
    reply.delay_s = 0.05  # so that kills also land while LLM calls are in flight
    return reply


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("CRASH_")}
    env["AUTOCOMP_CACHE_DIR"] = str(cache)
    env.update(extra)
    return child_env(env)


def _run_dir(out: Path) -> Path | None:
    dirs = [p.parent for p in out.glob("*/run.sqlite") if not p.parent.name.startswith(".")]
    assert len(dirs) <= 1, dirs
    return dirs[0] if dirs else None


def _committed(out: Path) -> int:
    """Evaluations (every purpose) committed so far; 0 before the run directory exists."""
    run_dir = _run_dir(out)
    if run_dir is None:
        return 0
    with RunReader.open_readonly(run_dir) as reader:
        return len(reader.evaluations())


def _evaluations(run_dir: Path) -> dict[int, tuple]:
    with RunReader.open_readonly(run_dir) as reader:
        return {e.id: (e.candidate_id, e.purpose, e.status, e.latency_us, e.created) for e in reader.evaluations()}


def _is_prefix(partial: dict, full: dict) -> list[str]:
    """How a killed run's store differs from the start of the uninterrupted run's (empty: it does not)."""
    problems = []
    by_id = {c[0]: c for c in full["candidates"]}
    for cand in partial["candidates"]:
        ref = by_id.get(cand[0])
        if ref is None or cand[:6] != ref[:6] or (cand[6] is not None and cand[6:] != ref[6:]):
            problems.append(f"candidate {cand[:5]} vs uninterrupted {ref and ref[:5]}")
    if not set(partial["evaluations"]) <= set(full["evaluations"]):
        problems.append(f"evaluations {sorted(set(partial['evaluations']) - set(full['evaluations']))}")
    if partial["beams"] != full["beams"][:len(partial["beams"])]:
        problems.append(f"beams {partial['beams']} vs {full['beams']}")
    # A killed run has recorded a prefix of the decisions, except that the candidate a decision produced
    # may not have been linked yet.
    for got, ref in zip(partial["decisions"], full["decisions"]):
        if got != ref and (got[:4], got[5]) != (ref[:4], ref[5]):
            problems.append(f"decision {got[1]}: {got} vs {ref}")
    if len(partial["decisions"]) > len(full["decisions"]):
        problems.append("more decisions than the uninterrupted run")
    return problems


def _kill_points(full: dict) -> list[int]:
    """Numbers of committed evaluations to kill at: inside the first iteration, right at its end (the
    checkpoint), inside the busiest later iteration, inside the last one, and during re-validation."""
    iteration = {c[0]: c[2] for c in full["candidates"]}
    search = [iteration[e[0]] for e in full["evaluations"] if e[1] == "search"]
    last = max(search)
    before = {t: sum(1 for i in search if i < t) for t in range(last + 2)}

    def inside(t: int) -> int:
        return before[t] + max(1, (before[t + 1] - before[t]) // 2)

    busiest = max(range(2, last + 1), key=lambda t: (before[t + 1] - before[t], -t))
    return sorted({inside(1), before[2], inside(busiest), inside(last), len(search)})


@dataclass
class CrashReport:
    kills: int = 0
    identical: int = 0
    finished_early: int = 0


def _reference_run(tmp_path: Path, args: list[str], extra_env: dict[str, str], monkeypatch) -> tuple[Path, dict]:
    """The uninterrupted run, in this process: only the killed runs and their resumes need processes of their
    own. The driver's evaluator at the same seam, with the same latency formula and a cache of its own."""
    latency = grid_latency if extra_env.get("CRASH_LATENCY") == "grid" else None
    ref = run_here([*args, "--runs-dir", str(tmp_path / "ref")], tmp_path / "cache-ref", monkeypatch, latency)
    assert ref.exit_code == 0, ref.output
    return tmp_path / "ref", json.loads(ref.stdout[ref.stdout.index("{"):])


def _crash_and_resume(tmp_path: Path, args: list[str], extra_env: dict[str, str],
                      monkeypatch) -> tuple[CrashReport, dict, dict]:
    ref_out, reference = _reference_run(tmp_path, args, extra_env, monkeypatch)
    full = run_trace(_run_dir(ref_out))

    out, report = tmp_path / "crash", CrashReport()
    committed: dict[int, tuple] = {}
    for point in _kill_points(full):
        before = _committed(out)
        if point <= before:
            continue
        run_dir = _run_dir(out)
        cmd = DRIVER + (["--resume", str(run_dir), "--runs-dir", str(out), "--quiet", "--json"] if run_dir
                        else args + ["--runs-dir", str(out)])
        env = _env(tmp_path / "cache-crash", CRASH_STALL_AFTER=str(point - before), **extra_env)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + DEADLINE_S
            while _committed(out) < point and proc.poll() is None:
                assert time.monotonic() < deadline, f"no progress to {point} evaluations"
                # The run stalls at the point whenever it is seen; each look reads the store, which takes CPU
                # from the run being watched: look ten times a second.
                time.sleep(0.1)
            if proc.poll() is not None:  # it finished: the point lay beyond the end of the run
                assert proc.returncode == 0, proc.stderr.read()
                report.finished_early += 1
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        report.kills += 1
        now = _evaluations(_run_dir(out))
        assert len(now) == point, f"kill at {point}: {len(now)} evaluations committed"
        for ev_id, row in committed.items():
            assert now.get(ev_id) == row, f"evaluation {ev_id} lost or rewritten by the run killed at {point}"
        committed = now
        problems = _is_prefix(run_trace(_run_dir(out)), full)
        assert not problems, f"killed at {point} evaluations, the run already differs: {problems[:5]}"

    run_dir = _run_dir(out)
    final = subprocess.run(DRIVER + ["--resume", str(run_dir), "--runs-dir", str(out), "--quiet", "--json"],
                           env=_env(tmp_path / "cache-crash", **extra_env), capture_output=True, text=True,
                           timeout=DEADLINE_S)
    assert final.returncode == 0, final.stderr
    result = json.loads(final.stdout[final.stdout.index("{"):])
    end = _evaluations(run_dir)
    for ev_id, row in committed.items():
        assert end.get(ev_id) == row, f"evaluation {ev_id} lost or rewritten by the final resume"
    assert not differences(run_trace(run_dir), full)
    # The prompts themselves are the same (no timestamps, no run-relative counters in them).
    assert prompts_asked(run_dir) == prompts_asked(_run_dir(ref_out))
    same = ("status", "best_candidate", "best_latency_us", "speedup", "stop_reason", "iterations", "evaluations",
            "revalidated", "revalidation_note")
    assert {k: result[k] for k in same} == {k: reference[k] for k in same}
    report.identical = report.kills
    return report, full, result


def _report(name: str, report: CrashReport, full: dict) -> None:
    print(f"{name}: {len(full['candidates'])} candidates, {len(full['evaluations'])} evaluations; "
          f"kills {report.kills}, identical resumes {report.identical}")


def test_sigkilled_llm_run_resumes_into_the_uninterrupted_run_candidate_for_candidate(tmp_path, problem_dir,
                                                                                     monkeypatch):
    cfg = tmp_path / "search.toml"
    cfg.write_text("polish_iterations = 2\npolish_beam = 1\nknob_batch = 3\n")
    with FakeLLMServer(slow_hashed) as server:
        args = [str(problem_dir), "--config", str(cfg), "--model", "vllm:fake", "--llm-base-url",
                server.url + "/v1", "--beam", "3", "--plans", "3", "--impls", "2", "--repairs", "2",
                "--iterations", "3", "--early-stop", "3", "--seed", "7", "--workers", "2", "--quiet", "--json"]
        report, full, result = _crash_and_resume(tmp_path, args, {}, monkeypatch)
    _report("llm", report, full)
    origins = {c[3] for c in full["candidates"]}
    assert {"llm", "repair", "knob"} <= origins and result["status"] == "finished"
    assert report.kills >= 3 and report.finished_early == 0


def test_sigkilled_knob_run_resumes_into_the_uninterrupted_run_candidate_for_candidate(tmp_path, monkeypatch):
    problem = grid_problem(tmp_path)
    cfg = tmp_path / "search.toml"
    cfg.write_text("knob_batch = 4\n")
    args = [str(problem), "--config", str(cfg), "--agent", "knobs", "--beam", "2", "--iterations", "4",
            "--seed", "7", "--workers", "2", "--quiet", "--json"]
    report, full, _ = _crash_and_resume(tmp_path, args, {"CRASH_LATENCY": "grid"}, monkeypatch)
    _report("knobs", report, full)
    assert report.kills >= 3 and report.finished_early == 0


def test_ctrl_c_stops_cleanly_keeps_finished_work_and_resumes(tmp_path, problem_dir):
    out, env = tmp_path / "runs", _env(tmp_path / "cache")
    args = [str(problem_dir), "--agent", "knobs", "--workers", "1", "--runs-dir", str(out)]
    proc = subprocess.Popen(CLI + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + DEADLINE_S
    while _committed(out) < 2:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "no progress to 2 evaluations"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout and "continue with: autocomp optimize --resume" in stdout
    run_dir = _run_dir(out)
    kept = _evaluations(run_dir)
    with RunReader.open_readonly(run_dir) as reader:
        assert reader.info.status == "interrupted" and len(kept) >= 2
    done = subprocess.run(CLI + ["--resume", run_dir.name, "--runs-dir", str(out), "--json", "--quiet"], env=env,
                          capture_output=True, text=True, timeout=DEADLINE_S)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout[done.stdout.index("{"):])["status"] == "finished"
    end = _evaluations(run_dir)
    assert all(end[k] == v for k, v in kept.items())
