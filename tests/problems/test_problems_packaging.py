"""A regular (non-editable) install ships the problem suite and the prompt templates inside the package.

The test builds the package the way a wheel is built (setup.py's build_py, which reads pyproject.toml too),
then imports autocomp from the build, away from the checkout, and looks the suite and prompts up there.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, autocomp
from autocomp.search.prompts import PromptLibrary, find_prompts_dir
from autocomp.suite.location import bundled_problems_dir, resolve_problem
from autocomp.problem import Problem
from autocomp.suite.baseline import measure
from autocomp.suite.check import load_problem_kernel, run_problem_kernel
problem = Problem.load(resolve_problem("gemm_bf16"))
PromptLibrary()  # parses every template and the menu
# The shipped kernels live inside the package directory, yet they are kernels: instructions point at their
# lines, and top-level-only calls (nl.shared_hbm) are allowed at their top level.
figures = measure(problem)
trace = run_problem_kernel(problem, load_problem_kernel(problem), problem.input_specs(), numerics=False).trace
lines = {(trace.files[ins.loc], ins.line) for ins in trace.instructions}
print(json.dumps({"package": autocomp.__file__, "problems": str(bundled_problems_dir()),
                  "prompts": str(find_prompts_dir()), "problem": problem.name, "error": figures.error,
                  "latency_us": figures.latency_us, "kernel_files": sorted({f for f, _ in lines})}))
"""


def _files(root: Path, patterns: tuple[str, ...]) -> set[str]:
    return {str(p.relative_to(root)) for pattern in patterns for p in root.glob(pattern)}


def test_built_package_contains_the_suite_and_the_prompts(tmp_path):
    lib = tmp_path / "lib"
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=REPO, check=True,
                   capture_output=True, timeout=300)
    shipped = lib / "autocomp"
    assert (shipped / "nki" / "v1" / "language" / "__init__.py").is_file()
    assert _files(shipped / "_problems", ("*/*.py", "*/*.toml")) == _files(REPO / "problems", ("*/*.py", "*/*.toml"))
    assert _files(shipped / "_prompts", ("*.md", "*.yaml", "architecture/*.md")) == _files(
        REPO / "prompts", ("*.md", "*.yaml", "architecture/*.md"))

    elsewhere = tmp_path / "elsewhere"  # no ./problems here: the lookups must find the shipped copies
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOCOMP_PROBLEMS", "AUTOCOMP_PROMPTS")}
    env["PYTHONPATH"] = str(lib)
    env["AUTOCOMP_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(lib)
    assert Path(found["problems"]) == shipped / "_problems"
    assert Path(found["prompts"]) == shipped / "_prompts"
    assert found["problem"] == "gemm_bf16"
    assert found["error"] == "" and found["latency_us"] > 0
    assert found["kernel_files"] == [str(shipped / "_problems" / "gemm_bf16" / "kernel.py")]
