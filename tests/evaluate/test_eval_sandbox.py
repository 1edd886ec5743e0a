"""The sandbox, with the static gate switched off so candidates really try: time, memory, processes,
environment, network, files and privileges are contained, and nothing outlives an evaluation.

Every test runs in each sandbox that works here (bwrap, userns) and without one (none, allowed explicitly).
Limits are generous (a loaded machine must pass); only the time-out test waits for a short time-out, whose
verdict does not depend on how busy the machine is.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest

from autocomp.evaluate import Evaluator, isolation
from autocomp.evaluate import evaluator as evaluator_module
from autocomp.evaluate.jobs import unprivileged_ids
from autocomp.evaluate.sandbox import SANDBOX_MARKER, child_env, group_alive, live_workers
from tests.fakes.eval_support import kernel_source, problem
from tests.fakes.processes import processes_with

TIMEOUT = 120.0  # evaluations that must finish: generous, so a machine with every core busy still passes
SHORT_TIMEOUT = 3.0  # the time-out test: a kernel that never ends gets status timeout however busy the machine
SANDBOXES = [m for m in ("bwrap", "userns") if isolation.probe()[m] is None]
MODES = [*SANDBOXES, "none"]
ROOT = os.geteuid() == 0
HEADER = "import os\nimport neuronxcc.nki as nki\nimport neuronxcc.nki.language as nl\n\n\n@nki.jit\n"
COMPUTE = '''    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
'''


def kernel(body: str) -> str:
    return HEADER + "def muladd(a, b):\n" + body


def adopted_sandbox_processes() -> list[int]:
    """Sandbox processes re-parented to this process (other test runs' sandboxes are not ours to judge), seen
    twice: a spare being started right now is briefly our child before it counts as a live worker."""
    first = _adopted_once()
    if not first:
        return []
    time.sleep(1.0)
    return sorted(set(first) & set(_adopted_once()))


def _adopted_once() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/environ", "rb") as f:
                marked = f"{SANDBOX_MARKER}=1".encode() in f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and marked and int(entry) not in live_workers():  # spares wait for their job
            found.append(int(entry))
    return found


@pytest.fixture(scope="module", params=MODES)
def evaluator(request, tmp_path_factory):
    ev = Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path_factory.mktemp("cache"), timeout_s=TIMEOUT,
                   memory_mb=768, static_gate=False, isolation=request.param, allow_unisolated=True)
    ev.baseline(problem("ew_muladd"))
    yield ev
    ev.close()


@pytest.fixture
def outcomes(monkeypatch):
    """Every worker Outcome of the test (a spy on the evaluator's sandbox seam)."""
    seen = []
    real = evaluator_module.finish_worker

    def spy(*args, **kwargs):
        outcome = real(*args, **kwargs)
        seen.append(outcome)
        return outcome

    monkeypatch.setattr(evaluator_module, "finish_worker", spy)
    return seen


def assert_nothing_left(outcomes):
    assert outcomes
    for o in outcomes:
        assert not group_alive(o.pgid)
        with pytest.raises(ProcessLookupError):
            os.killpg(o.pgid, 0)
    assert adopted_sandbox_processes() == []


def test_every_result_says_which_sandbox_it_ran_in(evaluator, outcomes):
    result = evaluator.evaluate(problem("ew_muladd"), kernel_source("honest/muladd_isa.py"))
    assert result.status == "correct", result.reason
    assert result.isolation == evaluator.isolation in MODES
    assert_nothing_left(outcomes)


def test_sleeping_forever_costs_its_timeout_and_nothing_survives(evaluator, outcomes, monkeypatch):
    # A spare worker has already spent CPU time importing its backend: the CPU limit must still not fire
    # before the wall-clock timeout (it once did, 1.6 s into a 2 s timeout: SIGXCPU instead of a timeout).
    monkeypatch.setattr(evaluator, "timeout_s", SHORT_TIMEOUT)
    result = evaluator.evaluate(problem("ew_muladd"), kernel_source("kernels/sleep_forever.py"))
    assert result.status == "timeout" and f"within {SHORT_TIMEOUT:g} s" in result.reason, result.reason
    assert outcomes[0].timed_out and SHORT_TIMEOUT <= outcomes[0].wall_s < SHORT_TIMEOUT + 60
    assert_nothing_left(outcomes)


def test_forked_and_escaped_processes_are_killed(evaluator, outcomes):
    token = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**6)}"  # a sleep length no other process uses
    body = f'''    if os.fork() == 0:  # stays in the worker's process group
        os.execv("/bin/sleep", ["sleep", "{token}"])
    if os.fork() == 0:  # leaves the group, then double-forks away from the worker
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "{token}"])
        os._exit(0)
''' + COMPUTE
    result = evaluator.evaluate(problem("ew_muladd"), kernel(body))
    assert result.status == "correct", result.reason  # containment, not refusal: the answer itself is right
    assert_nothing_left(outcomes)
    assert processes_with(token) == []


def test_os_exit_zero_is_a_failure_and_leaves_nothing(evaluator, outcomes):
    result = evaluator.evaluate(problem("ew_muladd"), kernel_source("kernels/early_exit_nogate.py"))
    assert result.status == "runtime_error" and "exited (code 0)" in result.reason
    assert_nothing_left(outcomes)


def test_a_signal_death_is_reported_as_the_signal(evaluator, outcomes):
    """bwrap and confine.py report a worker killed by signal N as 128 + N: it must read as the signal."""
    result = evaluator.evaluate(problem("ew_muladd"), kernel("    import signal\n    os.kill(os.getpid(), "
                                                             "signal.SIGSEGV)\n"))
    assert result.status == "runtime_error" and "SIGSEGV" in result.reason, result.reason
    assert_nothing_left(outcomes)


def test_unbounded_memory_stops_at_the_limit(evaluator, outcomes):
    result = evaluator.evaluate(problem("ew_muladd"), kernel_source("kernels/unbounded_memory.py"))
    assert result.status == "runtime_error" and "ran out of memory (the sandbox allows 768 MiB)" in result.reason
    assert_nothing_left(outcomes)


def test_a_fork_bomb_is_contained(evaluator, outcomes):
    if evaluator.isolation == "none" and not ROOT:
        pytest.skip("without a sandbox, RLIMIT_NPROC would count every process of the user running the tests")
    body = "    while True:\n        os.fork()\n"
    result = evaluator.evaluate(problem("ew_muladd"), kernel(body))
    assert result.status in ("compile_error", "runtime_error", "timeout")
    assert_nothing_left(outcomes)


def test_the_environment_is_an_allow_list(monkeypatch, evaluator, outcomes):
    names = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
             "HF_TOKEN", "AUTOCOMP_LLM_KEY")
    secrets = {name: f"secret-value-{i}-do-not-leak" for i, name in enumerate(names)}
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")  # the suite runs with 1 (conftest.py): the worker must too
    env = child_env("/tmp/sandbox-home")
    assert not set(secrets) & set(env)
    assert env["HOME"] == "/tmp/sandbox-home" and env["OPENBLAS_NUM_THREADS"] == "1"
    result = evaluator.evaluate(problem("ew_muladd"), kernel("    raise ValueError(','.join(sorted(os.environ)))\n"))
    names = set(result.reason.split("ValueError: ")[1].split(" — on seed")[0].split(","))
    assert "HOME" in names and not set(secrets) & names
    assert not any(v in result.reason for v in secrets.values())


def test_private_directory_unprivileged_user_and_limits(evaluator, outcomes):
    body = '''    import resource
    facts = [os.getcwd(), os.getuid(), resource.getrlimit(resource.RLIMIT_CORE)[0],
             resource.getrlimit(resource.RLIMIT_NOFILE)[0], resource.getrlimit(resource.RLIMIT_AS)[0] >> 20,
             os.listdir("."), [line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff")]]
    raise ValueError(repr(facts))
'''
    result = evaluator.evaluate(problem("ew_muladd"), kernel(body))
    facts = eval(result.reason.split("ValueError: ")[1].split(" — on seed")[0])  # our own test's repr
    cwd, uid, core, nofile, as_mib, listing, caps = facts
    assert "autocomp-eval-" in cwd and cwd.endswith("/work") and listing == ["kernel.py"]
    assert core == 0 and nofile == 256 and as_mib == 768
    if evaluator.isolation != "none":
        assert uid == (unprivileged_ids() or (isolation.INNER_UID,))[0] and caps == ["0000000000000000"]
    elif ROOT:
        assert uid == unprivileged_ids()[0]


def test_no_network(evaluator):
    if evaluator.isolation == "none":
        pytest.skip("only a sandbox has a network namespace of its own")
    body = ("    import socket\n    s = socket.socket()\n    s.settimeout(5)\n    s.connect(('1.1.1.1', 53))\n"
            "    raise ValueError('online')\n")
    result = evaluator.evaluate(problem("ew_muladd"), kernel(body))
    assert result.status == "compile_error" and "online" not in result.reason
    assert "unreachable" in result.reason.lower() or "OSError" in result.reason


def test_the_cpu_limit_counts_from_the_job_not_from_process_start():
    """A spare worker burns CPU importing its backend; RLIMIT_CPU is that plus the job's budget."""
    script = '''
import math, resource, sys
from autocomp.evaluate.worker import set_limits
from autocomp.evaluate.protocol import Job
n = 0
while resource.getrusage(resource.RUSAGE_SELF).ru_utime < 1.2:  # CPU time, whatever the wall clock does
    n += 1
job = Job(nonce="x", backend="sim", target="trn1", dialect="v1", function="f", kernel_file="k.py", seeds=[0],
          inputs={}, input_hashes={}, output_dir="/nonexistent", work_dir="/nonexistent", memory_mb=4096, cpu_s=3,
          file_size_mb=64)
u = resource.getrusage(resource.RUSAGE_SELF)
spent = u.ru_utime + u.ru_stime
set_limits(job)
print(resource.getrlimit(resource.RLIMIT_CPU)[0] - spent)
'''
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) >= 3  # the whole budget is left after the imports


def test_the_cpu_budget_exceeds_the_wall_clock_timeout():
    for timeout in (0.5, 2.0, 30.0):
        assert Evaluator._cpu_s(timeout) >= timeout + 2


def test_waiting_for_a_worker_ends_when_it_exits_or_at_the_timeout():
    """The wait that decides a timeout: True for a process that exits in time, False for one still running."""
    from autocomp.evaluate.sandbox import _wait

    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    assert _wait(quick, 300.0) and quick.returncode == 0
    failing = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert _wait(failing, 300.0) and failing.returncode == 3
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        start = time.monotonic()
        assert not _wait(sleeper, 0.2) and sleeper.poll() is None
        assert time.monotonic() - start >= 0.2
    finally:
        sleeper.kill()
        sleeper.wait()
