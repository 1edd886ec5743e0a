"""Run AWS's own NKI example tests and tutorial scripts, unchanged, under autocomp's simulator.

    python benchmarks/aws_examples.py --sdk PATH [--rev REV] [--only PATTERN] [--json]
    python benchmarks/aws_examples.py --sdk PATH --tutorials [--only PATTERN] [--python VENV/bin/python]

PATH is a local checkout of the aws-neuron/aws-neuron-sdk repository (a work tree or a bare clone).
Nothing of AWS's is copied into this repository: the files are read from the checkout at run time.

Example tests (default mode): the ``test_nki_*.py`` files under ``nki/test`` (``general/nki/test`` in
older revisions) are extracted with ``git archive`` at ``--rev`` (default HEAD; a work tree without
``--rev`` is used as it is) and each file runs with pytest in its own child process, in which
``autocomp.nki.install()`` has made ``neuronxcc.nki`` and ``nki`` the simulator. Printed: passed/failed
per file and, for each test that did not pass, its first error line.

Tutorials (``--tutorials``): every version in the checkout's history of each tutorial directory under
``nki/examples`` (``general/nki/examples`` earlier), which covers both dialects and every version of the
attention (flash-attention) tutorial. Each script of a version runs unchanged in a child process: the
PyTorch drivers (``*_torch.py``) with ``torch_xla`` replaced by a CPU shim (the simulator takes and
returns CPU tensors), the pytest files with pytest, kernel files with a ``__main__`` as scripts. A script
matches its reference when it exits 0 and prints no line saying the results differ. Scripts that need a
package this interpreter lacks (torch, jax) are reported as such; ``--python`` picks an interpreter that
has them (a venv with ``--system-site-packages`` and a CPU torch wheel is enough).

CI has no network and no checkout, so CI does not run this; tests/nki holds our own tests of every
behaviour it exposed (docs/nki-semantics.md#running-aws-examples).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_DIRS = ("nki/test", "general/nki/test")
EXAMPLE_DIRS = ("nki/examples", "general/nki/examples")

# The child: install the simulator under the real module names, then run what it was given. The old
# tutorials import their sibling kernel file through the compiler package's copy of the examples
# (neuronxcc.nki.docs.examples.<tutorial>.<file>); that name resolves to the sibling file here.
CHILD = r"""
import importlib.abc, importlib.util, os, runpy, sys
sys.argv = sys.argv[1:]
mode, target = sys.argv[0], sys.argv[1]
import autocomp.nki
autocomp.nki.install()

class _DocsExamples(importlib.abc.MetaPathFinder):
    PREFIX = "neuronxcc.nki.docs"
    def find_spec(self, name, path=None, target_module=None):
        if name != self.PREFIX and not name.startswith(self.PREFIX + "."):
            return None
        leaf = name.rpartition(".")[2]
        here = os.path.join(os.getcwd(), leaf + ".py")
        if name.count(".") >= 5 and os.path.exists(here):
            return importlib.util.spec_from_file_location(name, here)
        return importlib.util.spec_from_loader(name, loader=None, is_package=True)

sys.meta_path.append(_DocsExamples())
if mode == "versions":  # every attn_fwd_v* of the tutorial through the tutorial's own accuracy check
    sys.path.insert(0, os.getcwd())
    import attention_kernels
    check = runpy.run_path(target)["test_attn_tutorial"]
    import re
    names = sorted((n for n in vars(attention_kernels) if re.fullmatch(r"attn_fwd_v\d+\w*", n)),
                   key=lambda n: (int(re.match(r"attn_fwd_v(\d+)", n).group(1)), n))
    failed = []
    for name in names:
        try:
            check("accuracy", getattr(attention_kernels, name))
            print(f"{name}: matches the reference", flush=True)
        except BaseException as exc:
            failed.append(name)
            print(f"{name}: does not match: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                  flush=True)
    sys.exit(1 if failed else 0)
if mode == "pytest":
    import pytest
    sys.exit(pytest.main([target, "-q", "-p", "no:cacheprovider", "--junitxml", sys.argv[2],
                          "-o", "junit_family=xunit1", "-W", "ignore::DeprecationWarning"]))
sys.argv = [target]
runpy.run_path(target, run_name="__main__")
"""

# torch_xla stand-in for the tutorials' PyTorch drivers: the "device" is the CPU.
TORCH_XLA_SHIM = {
    "torch_xla/__init__.py": (
        '"""autocomp stand-in: the XLA device is the CPU (the simulator takes CPU tensors)."""\n'
        "import torch\n\n\ndef device(*args, **kwargs):\n    return torch.device('cpu')\n\n\n"
        "def sync(*args, **kwargs):\n    return None\n"
    ),
    "torch_xla/core/__init__.py": "",
    "torch_xla/core/xla_model.py": (
        "import torch\n\n\ndef xla_device(*args, **kwargs):\n    return torch.device('cpu')\n\n\n"
        "def mark_step(*args, **kwargs):\n    return None\n"
    ),
    # The PyTorch integration of the legacy dialect: nki_jit is the installed neuronxcc.nki.jit.
    "torch_neuronx/__init__.py": (
        '"""autocomp stand-in: nki_jit launches kernels in the autocomp simulator."""\n'
        "from torch_neuronx.xla_impl.ops import nki_jit  # noqa: F401\n"
    ),
    "torch_neuronx/xla_impl/__init__.py": "",
    "torch_neuronx/xla_impl/ops.py": (
        "def nki_jit(func=None, **kwargs):\n    import neuronxcc.nki as nki\n"
        "    return nki.jit(func, **kwargs) if func is not None else nki.jit(**kwargs)\n"
    ),
}
VERSION_LINE = re.compile(r"^(attn_fwd_v\w+): (matches the reference|does not match: .*)$", re.MULTILINE)
DIFFER = re.compile(r"\b(differ|do not match|don't match|mismatch)\b", re.IGNORECASE)


@dataclass
class Outcome:
    name: str  # file (tests) or tutorial/version/script (tutorials)
    status: str  # passed | failed | needs <pkg> | timeout | error
    reason: str = ""
    dialect: str = ""
    tests: list[dict] = field(default_factory=list)  # per test: name, status, reason
    seconds: float = 0.0


# --------------------------------------------------------------------------- checkout access


def _git(sdk: Path, *args: str, binary: bool = False):
    out = subprocess.run(["git", "-C", str(sdk), *args], capture_output=True, check=False)
    if out.returncode:
        raise SystemExit(f"git {' '.join(args)} in {sdk} failed: {out.stderr.decode().strip()}")
    return out.stdout if binary else out.stdout.decode()


def _is_work_tree(sdk: Path) -> bool:
    return (sdk / ".git").exists()


def extract(sdk: Path, rev: str, paths: list[str], dest: Path) -> None:
    """``git archive REV PATHS`` unpacked under ``dest``."""
    data = _git(sdk, "archive", "--format=tar", rev, *paths, binary=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def _existing(sdk: Path, rev: str, candidates: tuple[str, ...]) -> str | None:
    for path in candidates:
        if _git(sdk, "ls-tree", "-d", rev, path).strip():
            return path
    return None


# --------------------------------------------------------------------------- running a child


def _child_env(extra_paths: list[Path]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURON_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *map(str, extra_paths)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def _run_child(python: str, mode: str, target: Path, cwd: Path, paths: list[Path], timeout: float,
               junit: Path | None = None) -> tuple[int | None, str, float]:
    cmd = [python, "-c", CHILD, mode, str(target)] + ([str(junit)] if junit else [])
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=_child_env(paths), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, text, time.monotonic() - start
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def _missing_module(output: str) -> str | None:
    m = re.search(r"No module named '([\w.]+)'", output)
    if m and not m.group(1).startswith(("neuronxcc", "nki", "autocomp")):
        return m.group(1).split(".")[0]
    return None


def _last_error(output: str) -> str:
    """The exception line of a traceback (the last ``Name: message`` line), else the last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r"^(E\s+)?[\w.]*(Error|Exception|Warning|Exit)\b.*:", line) or line.startswith("E "):
            return line[:300]
    return lines[-1][:300] if lines else ""


def _dialect(text: str) -> str:
    legacy = re.search(r"^\s*(import|from)\s+neuronxcc", text, re.MULTILINE)
    current = re.search(r"^\s*(import|from)\s+nki\b", text, re.MULTILINE)
    return "v1" if legacy and not current else "v2" if current and not legacy else "mixed" if legacy else ""


def _junit_tests(junit: Path) -> list[dict]:
    if not junit.exists():
        return []
    tests = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}".lstrip(":")
        status, reason = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = "skipped" if tag == "skipped" else "failed"
                # pytest's message is the exception's first line ("AssertionError: ...", "...NkiSyntaxError: ...")
                text = (node.get("message") or "").strip()
                reason = text.splitlines()[0][:300] if text else _last_error(node.text or "")
                break
        tests.append({"name": name, "status": status, "reason": reason})
    return tests


# --------------------------------------------------------------------------- example tests


def run_example_tests(args) -> list[Outcome]:
    sdk = Path(args.sdk).resolve()
    with tempfile.TemporaryDirectory(prefix="aws-examples-") as tmp:
        tmp = Path(tmp)
        if args.rev is None and _is_work_tree(sdk):
            root = sdk
            test_dir = next((sdk / d for d in TEST_DIRS if (sdk / d).is_dir()), None)
        else:
            rev = args.rev or "HEAD"
            rel = _existing(sdk, rev, TEST_DIRS)
            if rel is None:
                raise SystemExit(f"{sdk} has no {' or '.join(TEST_DIRS)} at {rev}")
            extract(sdk, rev, [rel], tmp)
            root, test_dir = tmp, tmp / rel
        if test_dir is None:
            raise SystemExit(f"{sdk} has no {' or '.join(TEST_DIRS)}: pass --rev to read a revision")
        files = sorted(p for p in test_dir.glob("test_*.py") if re.search(args.only or "", p.name))
        outcomes = []
        for path in files:
            junit = tmp / f"{path.stem}.xml"
            code, output, secs = _run_child(args.python, "pytest", path, path.parent, [path.parent],
                                            args.timeout, junit)
            tests = _junit_tests(junit)
            out = Outcome(str(path.relative_to(root)), "passed", dialect=_dialect(path.read_text()),
                          tests=tests, seconds=round(secs, 1))
            bad = [t for t in tests if t["status"] == "failed"]
            if code is None:
                out.status, out.reason = "timeout", f"no result after {args.timeout:.0f} s"
            elif bad or code not in (0, 5):
                missing = _missing_module(output)
                out.status = f"needs {missing}" if missing and not tests else "failed"
                out.reason = bad[0]["reason"] if bad else _last_error(output)
            elif not tests:
                out.status, out.reason = "failed", "no tests collected"
            outcomes.append(out)
            _progress(args, out)
        return outcomes


# --------------------------------------------------------------------------- tutorials


@dataclass
class TutorialVersion:
    name: str  # directory (or file) under the examples directory
    path: str  # its path in the checkout at `commit`
    commit: str
    date: str
    object_id: str


def tutorial_versions(sdk: Path, only: str | None) -> list[TutorialVersion]:
    """Every distinct version (git object) of each tutorial directory in the checkout's history, newest first."""
    seen: dict[tuple[str, str], TutorialVersion] = {}
    log = _git(sdk, "log", "--all", "--format=%H %cs", "--", *EXAMPLE_DIRS)
    for line in log.splitlines():
        commit, date = line.split()
        for base in EXAMPLE_DIRS:
            listing = subprocess.run(["git", "-C", str(sdk), "ls-tree", f"{commit}:{base}"],
                                     capture_output=True, text=True, check=False).stdout
            for entry in listing.splitlines():
                meta, name = entry.split("\t", 1)
                kind, oid = meta.split()[1:3]
                if kind != "tree" or (only and not re.search(only, name)):
                    continue
                seen.setdefault((name, oid), TutorialVersion(name, f"{base}/{name}", commit, date, oid))
    return sorted(seen.values(), key=lambda v: (v.name, v.date), reverse=False)


def _scripts(folder: Path) -> list[tuple[str, Path]]:
    """(mode, file) for each runnable script of a tutorial directory."""
    files = sorted(folder.glob("*.py"))
    imported = {m for p in files for m in re.findall(r"^\s*(?:from|import)\s+(\w+)", p.read_text(), re.MULTILINE)}
    runs = []
    for path in files:
        text = path.read_text()
        if path.name.startswith("test_"):
            # The attention tutorial's test file is a script (it calls its check at import); the driver
            # also passes every kernel version of the tutorial through that check.
            runs.append(("versions" if "def test_attn_tutorial" in text else "pytest", path))
        elif "__main__" in text or path.stem not in imported:
            runs.append(("script", path))
    return runs


def _write_shims(dest: Path) -> Path:
    for rel, text in TORCH_XLA_SHIM.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    return dest


def run_tutorials(args) -> list[Outcome]:
    sdk = Path(args.sdk).resolve()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="aws-tutorials-") as tmp:
        tmp = Path(tmp)
        shims = _write_shims(tmp / "shims")
        for n, version in enumerate(tutorial_versions(sdk, args.only)):
            dest = tmp / f"v{n}"
            extract(sdk, version.commit, [version.path], dest)
            folder = dest / version.path
            kernel_text = "\n".join(p.read_text() for p in folder.glob("*.py"))
            for mode, script in _scripts(folder):
                label = f"{version.name}@{version.commit[:8]} ({version.date}) {script.name}"
                junit = tmp / f"{n}-{script.stem}.xml" if mode == "pytest" else None
                code, output, secs = _run_child(args.python, mode, script, folder, [folder, shims],
                                                args.timeout, junit)
                out = Outcome(label, "passed", dialect=_dialect(kernel_text), seconds=round(secs, 1))
                if junit is not None:
                    out.tests = _junit_tests(junit)
                if mode == "versions":  # one line per kernel version, printed by the child
                    for m in VERSION_LINE.finditer(output):
                        passed = m.group(2).startswith("matches")
                        out.tests.append({"name": m.group(1), "status": "passed" if passed else "failed",
                                          "reason": "" if passed else m.group(2)[len("does not match: "):]})
                bad = [t for t in out.tests if t["status"] == "failed"]
                differ = [ln.strip() for ln in output.splitlines() if DIFFER.search(ln)]
                if code is None:
                    out.status, out.reason = "timeout", f"no result after {args.timeout:.0f} s"
                elif code not in (0, 5) or bad:
                    missing = _missing_module(output)
                    out.status = f"needs {missing}" if missing else "failed"
                    out.reason = bad[0]["reason"] if bad else _last_error(output)
                elif differ:
                    out.status, out.reason = "failed", differ[0][:300]
                outcomes.append(out)
                _progress(args, out)
    return outcomes


# --------------------------------------------------------------------------- output


def _progress(args, out: Outcome) -> None:
    if args.json:
        return
    print(f"{out.status:10} {out.name} [{out.dialect or '?'}] {out.seconds:.1f}s"
          + (f": {out.reason}" if out.reason else ""), flush=True)
    for test in out.tests:
        if test["status"] == "failed":
            print(f"{'':12}failed {test['name']}: {test['reason']}", flush=True)
    passed = [t["name"] for t in out.tests if t["status"] == "passed"]
    if passed and len(passed) < len(out.tests):
        print(f"{'':12}passed {', '.join(passed)}", flush=True)


def summary(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for out in outcomes:
        counts[out.status] = counts.get(out.status, 0) + 1
    tests = [t for out in outcomes for t in out.tests]
    passed = sum(t["status"] == "passed" for t in tests)
    line = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{len(outcomes)} runs: {line}; tests: {passed} passed, {len(tests) - passed} not passed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdk", required=True, help="local checkout of aws-neuron/aws-neuron-sdk (work tree or bare)")
    ap.add_argument("--rev", help="revision to read the example tests at (default: the work tree, or HEAD)")
    ap.add_argument("--only", help="regular expression a test file or tutorial name must match")
    ap.add_argument("--tutorials", action="store_true", help="run every version of the tutorial scripts instead")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the children (e.g. a venv with torch)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per file or script")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    args = ap.parse_args(argv)
    outcomes = run_tutorials(args) if args.tutorials else run_example_tests(args)
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes], indent=1))
    else:
        print(summary(outcomes))
    return 0 if all(o.status == "passed" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
