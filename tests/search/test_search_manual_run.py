"""`autocomp optimize --model manual`: a whole run driven by a person answering prompt files (here a test thread),
killed and interrupted on the way, resumed into the run it would have been; the timeout and stdin modes.

The runs go through the CLI with the fake evaluator at its seam (tests/fakes/crash_driver.py): in a subprocess
where it is killed, interrupted (the command then ends with os._exit) or fed on stdin, in this process otherwise;
the person answers as the fake models of tests/fakes/search.py do. Every prompt file is headed by a digest of its
request, so a resumed run that asked anything again, or anything else, shows up as a prompt file the
uninterrupted run does not have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from autocomp.store import RunReader
from tests.fakes import child_env
from tests.fakes.crash_driver import run_here
from tests.fakes.manual_person import HALF_SAVED, Person, manual_dir, prompt_numbers, read_prompt, requests
from tests.fakes.search import hashed_answer, scripted_answer
from tests.fakes.search_traces import differences, run_trace

DRIVER = [sys.executable, "-m", "tests.fakes.crash_driver", "optimize"]
# Only guards against a hung test: no outcome depends on them.
DEADLINE_S = 240
SETTLE_S = 1.5
OPTIONS = ["--model", "manual", "--beam", "1", "--plans", "2", "--impls", "1", "--repairs", "1", "--iterations", "3",
           "--early-stop", "5", "--seed", "3", "--workers", "1", "--quiet", "--json"]


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("CRASH_")}
    env["AUTOCOMP_CACHE_DIR"] = str(cache)
    return child_env(env)


def _run_dir(out: Path) -> Path:
    return manual_dir(out).parent


def _wait(what: str, ready, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not ready():
        assert proc is None or proc.poll() is None, f"the run ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_S} s"
        time.sleep(0.05)


def _prompts(out: Path) -> list[int]:
    directory = manual_dir(out)
    return prompt_numbers(directory) if directory is not None and directory.is_dir() else []


def _finish(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 0, stderr
    return json.loads(stdout[stdout.index("{"):])


def _responses(run_dir: Path) -> list[str]:
    with RunReader.open_readonly(run_dir) as reader:
        return [reader.llm_exchange(c.id)[1] or "" for c in reader.llm_calls()]


def test_a_manual_run_killed_and_interrupted_resumes_into_the_uninterrupted_run(tmp_path, problem_dir, monkeypatch):
    ref_out = tmp_path / "ref"
    person = Person(ref_out, scripted_answer)
    person.start()
    try:  # the uninterrupted run: nobody kills it, so it runs in this process
        ref = run_here([str(problem_dir), *OPTIONS, "--runs-dir", str(ref_out)], tmp_path / "cache-ref", monkeypatch)
    finally:
        person.stop()
    assert ref.exit_code == 0, ref.output
    reference = json.loads(ref.stdout[ref.stdout.index("{"):])
    full = run_trace(_run_dir(ref_out))
    asked = requests(manual_dir(ref_out))
    assert reference["status"] == "finished" and len(asked) >= 8, asked
    assert {c[3] for c in full["candidates"]} >= {"llm", "repair"}
    # Numbered in the order the search takes the answers: the two plans of iteration 1 come first, plan 2
    # showing plan 1; every file says what it is for.
    first, second = (read_prompt(manual_dir(ref_out) / f"{n}.prompt.md")[-1]["content"] for n in (1, 2))
    assert "This is plan 1 of 2" in first and "This is plan 2 of 2" in second
    assert "Plans already made for this kernel" in second and "Plans already made" not in first
    head = (manual_dir(ref_out) / "2.prompt.md").read_text().splitlines()[1]
    assert head.startswith("# autocomp prompt 2: phase plan, iteration 1, parent 1, plan 2 of 2, slot 1:")
    assert "phase repair" in "".join((manual_dir(ref_out) / f"{n}.prompt.md").read_text() for n in asked)
    # A half-saved answer (no end marker yet) was never taken.
    assert not any(HALF_SAVED in text for text in _responses(_run_dir(ref_out)))

    out, env = tmp_path / "runs", _env(tmp_path / "cache")
    person = Person(out, scripted_answer, hold=4)
    person.start()
    try:
        proc = subprocess.Popen(DRIVER + [str(problem_dir), *OPTIONS, "--runs-dir", str(out)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait("prompt 4", lambda: 4 in _prompts(out), proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        run_dir = _run_dir(out)
        waiting = (manual_dir(out) / "4.prompt.md").stat().st_mtime_ns

        # The resumed run waits on the same prompt file: nothing is asked again, no new prompt appears.
        resume = DRIVER + ["--resume", str(run_dir), "--runs-dir", str(out), "--quiet", "--json"]
        proc = subprocess.Popen(resume, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(SETTLE_S)
        assert proc.poll() is None and _prompts(out) == [1, 2, 3, 4]
        assert (manual_dir(out) / "4.prompt.md").stat().st_mtime_ns == waiting
        person.release(hold=7)
        _wait("prompt 7", lambda: 7 in _prompts(out), proc)
        proc.send_signal(signal.SIGINT)  # Ctrl-C while the run waits for an answer
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        with RunReader.open_readonly(run_dir) as reader:
            assert reader.info.status == "interrupted"

        person.release()
        result = _finish(subprocess.Popen(resume, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    finally:
        person.stop()
    assert result["status"] == "finished"
    assert not differences(run_trace(run_dir), full)
    assert {k: result[k] for k in ("best_candidate", "best_latency_us", "iterations")} == \
        {k: reference[k] for k in ("best_candidate", "best_latency_us", "iterations")}
    # The same prompts under the same numbers as the uninterrupted run: none was asked twice.
    assert requests(manual_dir(out)) == asked


def test_an_unanswered_prompt_stops_the_run_and_resume_waits_on_the_same_file(tmp_path, problem_dir, monkeypatch):
    out, cache = tmp_path / "runs", tmp_path / "cache"
    args = [str(problem_dir), *OPTIONS, "--manual-timeout", "1", "--runs-dir", str(out)]
    # A process of its own: the command ends an interrupted run with os._exit.
    stopped = subprocess.run(DRIVER + args, env=_env(cache), capture_output=True, text=True, timeout=DEADLINE_S)
    assert stopped.returncode == 130, stopped.stderr
    result = json.loads(stopped.stdout[stopped.stdout.index("{"):])
    assert result["status"] == "interrupted" and "1.response.md" in result["stop_reason"]
    assert _prompts(out) == [1]  # nothing was asked after the unanswered prompt
    run_dir = _run_dir(out)
    with RunReader.open_readonly(run_dir) as reader:
        assert reader.info.status == "interrupted" and "--resume" in reader.info.status_reason
    before = requests(manual_dir(out))

    person = Person(out, hashed_answer, half_saved_s=0.0)  # half-saved answers are the killed run's test
    person.start()
    try:  # it finishes: in this process
        resumed = run_here(["--resume", str(run_dir), "--runs-dir", str(out), "--quiet", "--json"], cache, monkeypatch)
    finally:
        person.stop()
    assert resumed.exit_code == 0, resumed.output
    after = requests(manual_dir(out))
    assert person.answered[0] == 1 and after[1] == before[1] and len(after) > 1
    assert len(set(after.values())) == len(after)  # no request got a second file


def test_stdin_mode_prints_each_prompt_and_reads_the_answer_up_to_the_marker(tmp_path, problem_dir):
    out, env = tmp_path / "runs", _env(tmp_path / "cache")
    args = [str(problem_dir), "--model", "manual", "--manual-stdin", "--beam", "1", "--plans", "1", "--impls", "1",
            "--repairs", "0", "--iterations", "1", "--seed", "3", "--workers", "1", "--quiet", "--json", "--runs-dir",
            str(out)]
    proc = subprocess.Popen(DRIVER + args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    shown: list[str] = []

    def answer_each_prompt() -> None:
        lines: list[str] = []
        for line in proc.stderr:
            lines.append(line)
            if "Paste the model's answer, then a line holding only EOF" in line:
                text = "".join(lines)
                shown.append(text)
                messages = [{"role": "user", "content": text[text.index("## user\n\n") + 9:text.rindex("\n(prompt")]}]
                proc.stdin.write(hashed_answer(messages) + "\nEOF\n")
                proc.stdin.flush()
                lines = []

    feeder = threading.Thread(target=answer_each_prompt, daemon=True)
    feeder.start()
    stdout = proc.stdout.read()
    proc.wait(timeout=DEADLINE_S)
    feeder.join(timeout=30)
    assert proc.returncode == 0, "".join(shown)
    result = json.loads(stdout[stdout.index("{"):])
    assert result["status"] == "finished" and result["llm_calls"] == 2
    assert len(shown) == 2 and "This is plan 1 of 1" in shown[0] and "## Plan to implement" in shown[1]
    directory = manual_dir(out)
    assert prompt_numbers(directory) == [1, 2]
    assert (directory / "1.response.md").read_text().endswith("\nEOF\n")  # kept for a resume
