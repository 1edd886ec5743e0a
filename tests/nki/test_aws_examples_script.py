"""benchmarks/aws_examples.py on a tiny git repository laid out like AWS's SDK repository, made here with our
own example test and tutorial: it must report the passing and the failing test with its first error line,
and every version of the tutorial in history with whether it matched its own reference."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

EXAMPLE_TEST = '''
import unittest
import numpy as np
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit(mode="simulation")
def test_doubling(x):  # a kernel named like a test, as AWS's files have
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    nl.store(out, nl.multiply(nl.load(x), 2.0))
    return out


class TestTiny(unittest.TestCase):
    def test_doubles(self):
        x = np.ones((4, 8), np.float32)
        self.assertTrue(np.allclose(test_doubling(x), 2 * x))

    def test_wrong_expectation(self):
        x = np.ones((4, 8), np.float32)
        assert np.allclose(test_doubling(x), 3 * x), "tripled expected"
'''

TUTORIAL = '''
import numpy as np
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def add_kernel(a, b, out):  # the legacy convention: the output is a parameter
    nl.store(out, nl.add(nl.load(a), nl.load(b)))


if __name__ == "__main__":
    a, b = np.ones((4, 8), np.float32), np.full((4, 8), 2.0, np.float32)
    out = np.zeros_like(a)
    nki.baremetal(add_kernel)(a, b, out)
    print("NKI and NumPy match" if np.allclose(out, a + b{fudge}) else "NKI and NumPy differ")
'''

# Shaped like the attention tutorial: numbered kernel versions and a test file whose check takes one of them.
# v3 never finishes, so the run times out after v1 and v2 have reported.
ATTENTION_KERNELS = '''
import time
import numpy as np

_traced = []  # module-level state, like the tutorial's SBufAllocator: each version must see it fresh


def attn_fwd_v1(x):
    _traced.append("v1")
    assert _traced == ["v1"], f"state left over from {_traced[:-1]}"
    return x * 2


def attn_fwd_v2(x):
    return x * 3


def attn_fwd_v3(x):
    while True:
        time.sleep(1)


def attn_fwd_v4(x):
    _traced.append("v4")
    assert _traced == ["v4"], f"state left over from {_traced[:-1]}"
    return x * 2
'''

ATTENTION_TEST = '''
import numpy as np

import attention_kernels  # noqa: F401  (as the tutorial's own test file does)


def test_attn_tutorial(mode, kernel):
    x = np.ones((4, 8), np.float32)
    assert np.allclose(kernel(x), 2 * x), "doubled expected"
'''


def _load():
    spec = importlib.util.spec_from_file_location("aws_examples_benchmark", REPO / "benchmarks" / "aws_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("sdk")
    _git(repo, "init", "-q")
    (repo / "nki" / "test").mkdir(parents=True)
    (repo / "nki" / "test" / "test_nki_tiny.py").write_text(textwrap.dedent(EXAMPLE_TEST))
    tutorial = repo / "nki" / "examples" / "tiny_add"
    tutorial.mkdir(parents=True)
    for fudge in ("", " + 1"):  # the second version of the tutorial no longer matches its reference
        (tutorial / "tiny_add_nki_kernels.py").write_text(textwrap.dedent(TUTORIAL.format(fudge=fudge)))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "version")
    crash = repo / "nki" / "examples" / "crashing"
    crash.mkdir(parents=True)
    (crash / "crashing_kernels.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    attention = repo / "nki" / "examples" / "attention"
    attention.mkdir(parents=True)
    (attention / "attention_kernels.py").write_text(textwrap.dedent(ATTENTION_KERNELS))
    (attention / "test_attention.py").write_text(textwrap.dedent(ATTENTION_TEST))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "attention")
    return repo


def test_example_tests_report_per_file_and_per_test(sdk, tmp_path):
    bench = _load()
    args = bench.argparse.Namespace(sdk=str(sdk), rev="HEAD", only=None, python=sys.executable, timeout=300.0,
                                    json=True)
    [outcome] = bench.run_example_tests(args)
    assert outcome.name == "nki/test/test_nki_tiny.py" and outcome.dialect == "v1"
    assert outcome.status == "failed"
    tests = {t["name"]: t for t in outcome.tests}
    assert set(tests) == {"TestTiny::test_doubles", "TestTiny::test_wrong_expectation"}  # not the kernel
    assert tests["TestTiny::test_doubles"]["status"] == "passed"
    assert tests["TestTiny::test_wrong_expectation"]["status"] == "failed"
    assert "tripled expected" in tests["TestTiny::test_wrong_expectation"]["reason"]


def test_every_tutorial_version_runs_against_its_own_reference(sdk):
    bench = _load()
    args = bench.argparse.Namespace(sdk=str(sdk), only="tiny", python=sys.executable, timeout=300.0, json=True)
    outcomes = bench.run_tutorials(args)
    assert len(outcomes) == 2
    by_status = sorted((o.status, o.reason) for o in outcomes)
    assert by_status[0][0] == "failed" and "differ" in by_status[0][1]
    assert by_status[1] == ("passed", "")


# v3 never ends, so the run always lasts its whole limit, which only has to outlast starting the child and two
# numpy kernels: a short limit first, and the long one only when the machine was too slow for v1 and v2 to finish
# within it (they then report timeout, or are not listed yet), so a busy machine costs time, never a failure.
VERSION_RUN_LIMITS_S = (10.0, 60.0)


def test_a_timed_out_versions_run_keeps_the_kernels_that_finished(sdk, capsys):
    bench = _load()
    for limit in VERSION_RUN_LIMITS_S:
        args = bench.argparse.Namespace(sdk=str(sdk), only="^attention$", python=sys.executable, timeout=limit,
                                        json=False)
        [outcome] = bench.run_tutorials(args)
        printed = capsys.readouterr().out
        tests = {t["name"]: (t["status"], t["reason"]) for t in outcome.tests}
        if all(tests.get(name, ("timeout",))[0] != "timeout" for name in ("attn_fwd_v1", "attn_fwd_v2")):
            break  # both finished (or failed for a real reason) within this limit
    assert outcome.status == "timeout"
    assert tests["attn_fwd_v1"] == ("passed", "")
    assert tests["attn_fwd_v2"][0] == "failed" and "doubled expected" in tests["attn_fwd_v2"][1]
    assert tests["attn_fwd_v3"] == ("timeout", f"still running when the {limit:.0f} s limit struck")
    assert tests["attn_fwd_v4"] == ("timeout", "not reached before the time limit")
    # each kernel's line is printed as it finishes, before the run's own line
    assert printed.index("attn_fwd_v1: matches the reference") < printed.index("timeout    attention@")


def test_versions_run_limited_to_chosen_kernels_and_commits(sdk):
    bench = _load()
    args = bench.argparse.Namespace(sdk=str(sdk), only="^attention$", python=sys.executable, timeout=300.0,
                                    json=True, kernels=r"v[14]$", at=None)
    [outcome] = bench.run_tutorials(args)
    assert outcome.status == "passed"
    assert [t["name"] for t in outcome.tests] == ["attn_fwd_v1", "attn_fwd_v4"]
    args.at = "0" * 40  # no version's commit
    assert bench.run_tutorials(args) == []


def test_a_child_killed_from_outside_names_the_signal(sdk):
    bench = _load()
    args = bench.argparse.Namespace(sdk=str(sdk), only="^crashing$", python=sys.executable, timeout=300.0,
                                    json=True)
    [outcome] = bench.run_tutorials(args)
    assert (outcome.status, outcome.reason) == ("failed", "killed by SIGKILL")
