"""Candidates that try to get out of the OS sandbox, with the static gate off so the sandbox alone stops them:
host writes, reading the evaluation cache, other runs and $HOME, host unix sockets, processes that outlive a
killed evaluator. Each runs in every sandbox that works here (bwrap, userns), and leaves no files and no
processes behind. Then: which sandbox was in force is reported, and without one untrusted candidates are refused.
"""

from __future__ import annotations

import ast
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.evaluate import Evaluator, EvaluatorError, isolation
from autocomp.evaluate.fsview import python_paths
from autocomp.evaluate.jobs import sweep_stale_job_dirs
from autocomp.evaluate.sandbox import SANDBOX_MARKER
from autocomp.evaluate.trust import is_trusted
from autocomp.problem import Problem
from tests.fakes import child_env
from tests.fakes.eval_support import PROBLEMS, kernel_source, problem
from tests.fakes.processes import processes_with

SANDBOXES = [m for m in ("bwrap", "userns") if isolation.probe()[m] is None]
needs_sandbox = pytest.mark.skipif(not SANDBOXES, reason=f"no sandbox works here: {isolation.probe()}")
TIMEOUT = 120.0
REPO = Path(__file__).resolve().parents[2]
NO_SANDBOX = {"bwrap": "bubblewrap is not installed (no `bwrap` on PATH)", "userns": "user namespaces are disabled"}
# The kernel's honest computation, after the attack: a contained attack still gets status "correct".
HONEST = '''
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
'''


def attack(body: str) -> str:
    """A muladd kernel that runs ``body`` (a function ``escape()`` returning a list of what got through), raises
    if anything did, and otherwise computes the right answer."""
    return ("import os\nimport neuronxcc.nki as nki\nimport neuronxcc.nki.language as nl\n\n\n"
            + textwrap.dedent(body) + "\n\n@nki.jit\ndef muladd(a, b):\n    got = escape()\n    if got:\n"
            "        raise ValueError('ESCAPED ' + repr(got))\n" + HONEST)


@pytest.fixture(scope="module", params=SANDBOXES)
def sandboxed(request, tmp_path_factory):
    cache = tmp_path_factory.mktemp("escape-cache")
    ev = Evaluator("sim", workers=2, cache=True, cache_dir=cache, timeout_s=TIMEOUT, static_gate=False,
                   isolation=request.param)
    ev.baseline(problem("ew_muladd"))  # fills the cache and the reference store the candidates go after
    yield ev
    ev.close()


@pytest.fixture
def outside(tmp_path):
    """A directory outside /tmp (hidden wholesale by the sandbox's private /tmp), removed afterwards."""
    path = Path("/var/tmp") / f"autocomp-escape-{secrets.token_hex(6)}"
    path.mkdir(mode=0o700)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def sandbox_pids() -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if f"{SANDBOX_MARKER}=1".encode() in f.read().split(b"\0"):
                        pids.add(int(entry))
            except OSError:
                continue
    return pids


@needs_sandbox
def test_writes_to_host_tmp_dirs_and_the_package_do_not_reach_the_host(sandboxed):
    token = f"autocomp-escape-{secrets.token_hex(8)}"
    targets = [f"/tmp/{token}", f"/dev/shm/{token}", f"/var/tmp/{token}", str(REPO / "autocomp" / f"{token}.py"),
               str(Path.home() / token)]
    body = f'''
    def escape():
        landed = []
        for path in {targets!r}:
            try:
                with open(path, "w") as f:
                    f.write("planted")
                landed.append(path)
            except OSError:
                pass
        return [p for p in landed if not p.startswith(("/tmp/", "/dev/shm/"))]  # private: allowed, and discarded
    '''
    result = sandboxed.evaluate(problem("ew_muladd"), attack(body))
    assert result.status == "correct", result.reason
    assert result.isolation == sandboxed.isolation
    assert [t for t in targets if os.path.exists(t)] == []


@needs_sandbox
def test_cache_references_runs_and_home_are_out_of_sight(sandboxed, outside, monkeypatch):
    secret = f"secret-{secrets.token_hex(8)}"
    runs = outside / "runs" / "20250101-000000-gemm"
    runs.mkdir(parents=True)
    (runs / "run.sqlite").write_text(secret)
    home = outside / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(secret)
    monkeypatch.setenv("HOME", str(home))
    references = sorted(str(p) for p in sandboxed.references.root.glob("*/seed*/out0.npy"))
    database = str(sandboxed.references.root.parent / "evaluations.sqlite")
    assert references and os.path.exists(database)
    readable = [*references, database, str(runs / "run.sqlite"), str(home / ".ssh" / "id_rsa"), "/etc/shadow",
                "/etc/passwd", str(REPO / "pyproject.toml")]
    hidden = [str(sandboxed.references.root), str(REPO / "runs"), str(REPO / "problems"), str(REPO / "tests"),
              "/run", "/var/run", "/var", "/home", "/sys"]
    # The real home directory shows only the way to the Python installation when that lives in it (pyenv).
    real_home = pwd.getpwuid(os.getuid()).pw_dir.rstrip("/")
    on_the_way = sorted({p[len(real_home) + 1:].split("/")[0] for p in python_paths()
                         if p.startswith(real_home + "/")})
    body = f'''
    def escape():
        got = []
        for path in {readable!r}:
            try:
                with open(path, "rb") as f:
                    got.append((path, f.read(64)))
            except OSError:
                pass
        got += [p for p in {hidden!r} if os.path.exists(p)]
        try:
            got += [("home", name) for name in os.listdir({real_home!r}) if name not in {on_the_way!r}]
        except OSError:
            pass
        return got
    '''
    result = sandboxed.evaluate(problem("ew_muladd"), attack(body))
    assert result.status == "correct", result.reason
    assert secret not in result.reason + result.log_tail


@needs_sandbox
def test_host_unix_sockets_are_unreachable(sandboxed, outside, tmp_path):
    token = secrets.token_hex(8)
    servers, paths = [], [str(tmp_path / "host.sock"), str(outside / "host.sock")]
    for path in paths:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, 0o777)
        servers.append(s)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0autocomp-escape-{token}")
    servers.append(abstract)
    for s in servers:
        s.listen(4)
        s.setblocking(False)
    body = f'''
    def escape():
        import socket
        got = []
        for address in {paths!r} + ["\\0autocomp-escape-{token}", "/run/systemd/private", "/var/run/docker.sock"]:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(5)
                s.connect(address)
                got.append(address)
            except OSError:
                pass
            finally:
                s.close()
        return got
    '''
    try:
        result = sandboxed.evaluate(problem("ew_muladd"), attack(body))
        assert result.status == "correct", result.reason
        for s in servers:
            with pytest.raises(BlockingIOError):
                s.accept()  # no connection ever arrived
    finally:
        for s in servers:
            s.close()


ORPHAN_SCRIPT = '''
import sys
import tempfile
from tests.fakes.eval_support import problem
from autocomp.evaluate import Evaluator
mode, token, jobs, cache = sys.argv[1:5]
# cache: the baseline measured by the first evaluator of this mode (only the candidates, which never end, matter)
ev = Evaluator("sim", workers=2, cache=True, cache_dir=cache, isolation=mode, static_gate=False, timeout_s=3600,
               work_dir=jobs)
base = problem("ew_muladd").baseline_source
sources = []
for i in range(2):  # two distinct candidates, evaluated in parallel
    sources.append(f"""import os
import time
if os.fork() == 0:  # a sleeper that leaves the worker's session
    os.setsid()
    os.execv("/bin/sleep", ["sleep", "{{token}}{{i}}"])
time.sleep(3600)
""" + base)
print("evaluating", flush=True)
ev.evaluate_many(problem("ew_muladd"), sources)
'''


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else []:
            try:
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = {int(c) for c in f.read().split()}
            except OSError:
                continue
            todo += list(kids - found)
            found |= kids
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except OSError:
            continue
    return alive


def _wait_until(check, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture(scope="module")
def killed_evaluator_caches(tmp_path_factory) -> Path:
    """An evaluation cache per sandbox shared by the evaluators the next test kills: the first one of each mode
    measures the baseline, the others find it there and go straight to their candidates."""
    return tmp_path_factory.mktemp("killed-evaluator-caches")


@needs_sandbox
@pytest.mark.parametrize("mode", SANDBOXES)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_nothing_outlives_a_killed_or_interrupted_evaluator(mode, how, tmp_path, killed_evaluator_caches):
    token = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**5)}"
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    script = tmp_path / "evaluate.py"
    script.write_text(ORPHAN_SCRIPT.format())  # unescapes the sleepers' f-string braces
    cache = killed_evaluator_caches / mode
    parent = subprocess.Popen([sys.executable, str(script), mode, token, str(jobs), str(cache)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                              env=child_env(dict(os.environ)))
    try:
        # Both candidates are running and each has planted its sleeper (generous: the machine may be busy).
        planted = _wait_until(lambda: parent.poll() is not None or all(processes_with(f"{token}{i}")
                                                                          for i in range(2)), 300)
        assert planted and parent.poll() is None, parent.stderr.read1().decode() if planted else "no sleepers"
        tree = _descendants(parent.pid)
        assert tree & sandbox_pids()
        parent.send_signal(how)
        parent.wait(timeout=120)
        # The kernel delivers the parent-death signals and tears the pid namespaces down asynchronously.
        assert _wait_until(lambda: not _alive(tree) and not processes_with(token), 60), _alive(tree)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    sweep_stale_job_dirs(str(jobs))  # what the next evaluator does with the job directories of a killed one
    assert list(jobs.iterdir()) == []


@needs_sandbox
def test_eval_json_says_which_sandbox_was_in_force():
    result = CliRunner().invoke(app, ["eval", str(PROBLEMS / "ew_muladd"),
                                      str(Path(__file__).parent / "honest" / "muladd_isa.py"), "--json", "--no-cache",
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["isolation"] == isolation.resolve("auto") == SANDBOXES[0]


@pytest.fixture
def no_sandbox(monkeypatch):
    """This machine as one with neither bubblewrap nor user namespaces."""
    monkeypatch.setattr(isolation, "probe", lambda: dict(NO_SANDBOX))


def test_without_a_sandbox_untrusted_candidates_are_refused(no_sandbox, tmp_path):
    ev = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, timeout_s=TIMEOUT)
    try:
        assert ev.isolation == "none"
        assert ev.baseline(problem("ew_muladd")).status == "correct"  # the problem's own kernel is trusted
        with pytest.raises(EvaluatorError, match=r"apt-get install bubblewrap.*--allow-unisolated"):
            ev.evaluate(problem("ew_muladd"), kernel_source("honest/muladd_isa.py"))
        with pytest.raises(EvaluatorError, match="bubblewrap is not installed"):
            ev.require_isolation()
    finally:
        ev.close()
    allowed = Evaluator("sim", workers=1, cache=False, cache_dir=tmp_path, timeout_s=TIMEOUT, allow_unisolated=True)
    try:
        result = allowed.evaluate(problem("ew_muladd"), kernel_source("honest/muladd_isa.py"))
        assert result.status == "correct" and result.isolation == "none"
    finally:
        allowed.close()


def test_a_sandbox_that_does_not_work_is_named_with_the_fix(no_sandbox):
    with pytest.raises(EvaluatorError, match=r"isolation 'bwrap' does not work here.*apt-get install bubblewrap"):
        Evaluator("sim", cache=False, isolation="bwrap")


def test_eval_cli_refuses_without_a_sandbox_unless_allowed(no_sandbox):
    args = ["eval", str(PROBLEMS / "ew_muladd"), str(Path(__file__).parent / "honest" / "muladd_isa.py"),
            "--json", "--no-cache", "--workers", "1"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2
    assert "apt-get install bubblewrap" in refused.output and "--allow-unisolated" in refused.output
    allowed = CliRunner().invoke(app, [*args, "--allow-unisolated"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["isolation"] == "none"


def test_an_llm_run_is_refused_before_any_call_without_a_sandbox(no_sandbox, tmp_path):
    from autocomp.search.config import build_config
    from autocomp.search.runner import SearchError, run_optimization

    class NoCalls:  # an LLM service that must never be asked
        on_call = None

        def __getattr__(self, name):
            raise AssertionError(f"the LLM was used ({name}) although the run was refused")

    config = build_config(agent="llm", models=["anthropic:claude-sonnet-4-5"], out=tmp_path / "runs", workers=1)
    with pytest.raises(SearchError, match=r"apt-get install bubblewrap.*--allow-unisolated"):
        run_optimization(PROBLEMS / "ew_muladd", config, llm=NoCalls())


def test_a_knob_run_needs_no_sandbox_and_records_the_one_in_force(no_sandbox, tmp_path):
    from autocomp.search.config import build_config
    from autocomp.search.runner import run_optimization

    config = build_config(agent="knobs", out=tmp_path / "runs", workers=1, iterations=1, revalidate_seeds=0)
    result = run_optimization(PROBLEMS / "ew_muladd", config)
    assert result.status == "finished"
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["isolation"] for e in events if e["kind"] == "sandbox"] == ["none"]


def test_the_baseline_and_its_knob_settings_are_trusted_and_nothing_else():
    gemm = Problem.load(REPO / "problems" / "gemm_bf16")
    base = gemm.baseline_source
    from autocomp.knobs import rewrite_constants

    assert is_trusted(gemm, base)
    assert is_trusted(gemm, rewrite_constants(base, {"TILE_N": 256, "BLOCK_M": 4}))
    assert not is_trusted(gemm, rewrite_constants(base, {"TILE_N": 100}))  # not a value of the knob's range
    assert not is_trusted(gemm, base + "\nimport os\n")  # anything else changed: someone else's code
    assert not is_trusted(gemm, rewrite_constants(base, {"TILE_N": 256}) + "\n# edited\n")


NON_ROOT_SCRIPT = '''
import json, os, sys, tempfile
from tests.fakes.eval_support import kernel_source, problem
from autocomp.evaluate import Evaluator
mode, cache = sys.argv[1:3]
ev = Evaluator("sim", workers=1, cache=False, cache_dir=cache, isolation=mode, static_gate=False, timeout_s=600)
spy = """import os
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    raise ValueError(repr([os.geteuid(), sorted(set(os.listdir({home!r})) - set({on_the_way!r})),
                           os.path.exists("/run")]))
"""
out = {{"uid": os.geteuid(), "isolation": ev.isolation}}
for name, src in (("honest", kernel_source("honest/muladd_isa.py")),
                  ("reads_inputs", kernel_source("kernels/reads_file_nogate.py")), ("spy", spy)):
    r = ev.evaluate(problem("ew_muladd"), src)
    out[name] = [r.status, r.reason, r.isolation]
ev.close()
print(json.dumps(out))
'''


def _run_as_non_root(prefix: list[str], mode: str, tmp_path: Path) -> dict:
    # pytest's own temporary root is private to the user running the tests: the other user needs a directory
    # it can reach, whatever the checkout's and the temporary root's permissions are.
    tmp_path = Path(tempfile.mkdtemp(prefix="autocomp-non-root-"))
    try:
        return _run_as_non_root_in(prefix, mode, tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _run_as_non_root_in(prefix: list[str], mode: str, tmp_path: Path) -> dict:
    script = tmp_path / "non_root.py"
    home = pwd.getpwuid(os.getuid()).pw_dir.rstrip("/")  # the host home of the user running these tests
    on_the_way = sorted({p[len(home) + 1:].split("/")[0] for p in python_paths() if p.startswith(home + "/")})
    script.write_text(NON_ROOT_SCRIPT.format(home=home, on_the_way=on_the_way))
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(cache, 0o777)
    r = subprocess.run([*prefix, sys.executable, str(script), mode, str(cache)], capture_output=True, text=True,
                       timeout=900, env=child_env({**os.environ, "AUTOCOMP_CACHE_DIR": str(cache)}))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _check_non_root(out: dict, mode: str) -> None:
    assert out["uid"] != 0 and out["isolation"] == mode
    assert out["honest"][0] == "correct" and out["honest"][2] == mode, out["honest"]
    assert out["reads_inputs"][0] == "compile_error" and "PermissionError" in out["reads_inputs"][1]
    raised = out["spy"][1].split("ValueError: ", 1)[1].split(" — on seed", 1)[0]  # the reason names the run after
    uid, home_entries, run_visible = ast.literal_eval(raised)
    assert uid == isolation.INNER_UID and home_entries == [] and not run_visible


@needs_sandbox
@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_non_root_user_is_isolated_too(mode, tmp_path):
    """As uid 1000 of a user namespace: no capability outside it, as any non-root user (its files are root's on
    the host, so the interpreter installed under /root stays reachable)."""
    out = _run_as_non_root(["unshare", "--user", "--map-user=1000", "--map-group=1000", "--"], mode, tmp_path)
    _check_non_root(out, mode)


@needs_sandbox
def test_nobody_is_isolated_too(tmp_path):
    """As the host's real ``nobody``, where it can run this interpreter at all."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become nobody")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    # the evaluator starts more interpreters (its measuring processes) by sys.executable: probe that too
    check = ("import subprocess, sys, numpy, autocomp.evaluate; "
             "subprocess.run([sys.executable, '-c', 'import numpy, autocomp.evaluate'], check=True)")
    probe = subprocess.run([*prefix, sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {sys.executable} here ({probe.stderr.strip().splitlines()[-1][:120]}); "
                    "test_a_non_root_user_is_isolated_too covers a non-root user")
    _check_non_root(_run_as_non_root(prefix, SANDBOXES[0], tmp_path), SANDBOXES[0])
