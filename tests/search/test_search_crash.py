"""Crash safety: SIGKILL `autocomp optimize` at random moments, resume, and compare with an uninterrupted run.

Checks that no committed evaluation is lost or re-recorded, that nothing is evaluated twice, and that the
resumed run ends exactly where an uninterrupted run with the same seed and the same LLM answers ends.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from llm_fakes import FakeLLMServer, Reply, SeenRequest
from search_fakes import scripted_openai

from autocomp.store import RunReader

KILLS = 3
CLI = [sys.executable, "-c", "from autocomp.cli import main; main()", "optimize"]


def slow_scripted(req: SeenRequest) -> Reply:
    reply = scripted_openai(req)
    reply.delay_s = 0.15  # long enough that kills also land while LLM calls are in flight
    return reply


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AUTOCOMP_CACHE_DIR"] = str(cache)
    return env


def _snapshot(run_dir: Path) -> dict[int, tuple]:
    with RunReader.open_readonly(run_dir) as reader:
        hashes = {c.id: c.source_hash for c in reader.candidates()}
        return {e.id: (e.candidate_id, hashes[e.candidate_id], e.purpose, e.status, e.latency_us, e.created)
                for e in reader.evaluations()}


def _summary(run_dir: Path) -> dict:
    with RunReader.open_readonly(run_dir) as reader:
        cands = reader.candidates()
        search = reader.evaluations(purpose="search")
        hashes = {c.id: c.source_hash for c in cands}
        best = reader.best()
        return {
            "evaluated": sorted(hashes[e.candidate_id] for e in search),
            "beams": [sorted(hashes[i] for i in b.beam) for b in reader.beams()],
            "best": (best.source_hash, best.latency_us),
            "status": reader.info.status,
            "candidates": len(cands),
        }


def _wait_for(proc: subprocess.Popen, out: Path, evaluations: int, deadline: float) -> bool:
    """Poll until the run has committed ``evaluations`` evaluations; False if the process ended first."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        run_dir = _run_dir(out)
        if run_dir is not None:
            try:
                if len(_snapshot(run_dir)) >= evaluations:
                    return True
            except Exception:  # the run directory is still being created
                pass
        time.sleep(0.05)
    raise AssertionError(f"no progress to {evaluations} evaluations within the deadline")


def _run_dir(out: Path) -> Path | None:
    dirs = [p.parent for p in out.glob("*/run.sqlite")]
    assert len(dirs) <= 1, dirs
    return dirs[0] if dirs else None


def test_sigkill_and_resume_lose_nothing_repeat_nothing_and_match(tmp_path, problem_dir):
    cfg = tmp_path / "search.toml"
    cfg.write_text("polish_iterations = 2\npolish_beam = 1\n")
    with FakeLLMServer(slow_scripted) as server:
        args = [str(problem_dir), "--config", str(cfg), "--model", "vllm:fake", "--llm-base-url",
                server.url + "/v1", "--beam", "2", "--plans", "2", "--impls", "2", "--repairs", "2",
                "--iterations", "2", "--seed", "7", "--workers", "2", "--quiet", "--json"]

        ref_out = tmp_path / "ref"
        ref = subprocess.run(CLI + args + ["--out", str(ref_out)], env=_env(tmp_path / "cache-ref"),
                             capture_output=True, text=True, timeout=240)
        assert ref.returncode == 0, ref.stderr
        reference = _summary(_run_dir(ref_out))

        out, env = tmp_path / "crash", _env(tmp_path / "cache-crash")
        total = len(_snapshot(_run_dir(ref_out)))
        rng = random.Random(int(os.environ.get("AUTOCOMP_CRASH_SEED", "2024")))
        committed: dict[int, tuple] = {}
        kills = 0
        while kills < KILLS:
            run_dir = _run_dir(out)
            cmd = CLI + (["--resume", str(run_dir), "--out", str(out), "--quiet", "--json"] if run_dir
                         else args + ["--out", str(out)])
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Kill once a random number of further evaluations is committed, plus a random moment more:
            # kills land during LLM calls, evaluations, checkpoints and re-validation alike.
            target = min(total - 1, len(committed) + rng.randint(1, 3))
            if not _wait_for(proc, out, target, deadline=time.monotonic() + 120):
                assert proc.returncode == 0, proc.stderr.read()
                break
            time.sleep(rng.uniform(0.0, 0.6))
            if proc.poll() is not None:
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            now = _snapshot(_run_dir(out))
            for ev_id, row in committed.items():
                assert now.get(ev_id) == row, f"evaluation {ev_id} lost or rewritten after kill {kills}"
            committed = now
            print(f"kill {kills}: {len(now)} evaluations committed of {total}")

        run_dir = _run_dir(out)
        final = subprocess.run(CLI + ["--resume", str(run_dir), "--out", str(out), "--quiet", "--json"], env=env,
                               capture_output=True, text=True, timeout=240)
        assert final.returncode == 0, final.stderr
        result = json.loads(final.stdout[final.stdout.index("{"):])
    time.sleep(0.2)

    end = _snapshot(run_dir)
    for ev_id, row in committed.items():
        assert end.get(ev_id) == row, f"evaluation {ev_id} lost or rewritten by the final resume"
    got = _summary(run_dir)
    assert got["status"] == "finished" and result["status"] == "finished"
    assert len(got["evaluated"]) == len(set(got["evaluated"]))  # no kernel evaluated twice
    assert got["evaluated"] == reference["evaluated"]
    assert got["beams"] == reference["beams"]
    assert got["best"] == reference["best"]
    assert got["candidates"] == reference["candidates"]
    assert kills >= 2


def test_ctrl_c_stops_cleanly_keeps_finished_work_and_resumes(tmp_path, problem_dir):
    out, env = tmp_path / "runs", _env(tmp_path / "cache")
    args = [str(problem_dir), "--agent", "knobs", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(CLI + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(proc, out, 2, deadline=time.monotonic() + 120)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout and "continue with: autocomp optimize --resume" in stdout
    run_dir = _run_dir(out)
    kept = _snapshot(run_dir)
    with RunReader.open_readonly(run_dir) as reader:
        assert reader.info.status == "interrupted" and len(kept) >= 2
    done = subprocess.run(CLI + ["--resume", run_dir.name, "--out", str(out), "--json", "--quiet"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout[done.stdout.index("{"):])["status"] == "finished"
    end = _snapshot(run_dir)
    assert all(end[k] == v for k, v in kept.items())
