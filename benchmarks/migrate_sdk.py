"""`autocomp migrate` on the Neuron SDK's legacy (neuronxcc.nki) tutorial kernels.

Reads each tutorial file from a clone of aws-neuron-sdk (bare or not; the newest commit at which the file
still imports neuronxcc.nki, or --rev), migrates the kernel by rule, and proves it equivalent in the
sandboxed simulator at the tutorial's documented shapes or smaller, on --seeds. Prints per kernel: the
rules applied, the findings the rules left, and whether the migration is equivalent (bit-exact).

Kernel parameters that are not tensors (transpose2d's shape2D, average_pool2d's pool_size, layernorm's
epsilon) are bound to the tutorial's values before migrating: the parameter is removed from the signature
and assigned at the top of the body, in the original and so in the migration.

    python benchmarks/migrate_sdk.py --sdk /path/to/aws-neuron-sdk [--seeds 0,1] [--only matmul] [--json]

Nothing from the SDK is stored: its files are read from git at run time.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path

from autocomp.evaluate import Evaluator
from autocomp.migrate.edits import SourceEdits
from autocomp.migrate.pipeline import run_migration, spec_cases
from autocomp.pyparse import parse_python

EX = "nki/examples/"
MM = EX + "matrix_multiplication/matrix_multiplication_nki_kernels.py"
LN = EX + "layernorm/layernorm_nki_kernel.py"
MAMBA = EX + "fused_mamba/mamba_nki_kernels.py"
ATT = EX + "attention/attention_kernels.py"
MAMBA_IN = "delta=1x256x512:float32,u=1x256x512:float32,A=256x16:float32,B=1x16x512:float32,C=1x16x512:float32"
LN_IN = "input_tensor=256x512:float32,gamma_vector=512:float32,beta_vector=512:float32"

# The newest aws-neuron-sdk commit at which every tutorial below is still written in the legacy dialect (later
# commits move them to the nki package, some through intermediate forms).
LEGACY_REV = "1db4d74ec718b8c3287ad118ad021c95c64ff455"

# (label, file, function, inputs, bound non-tensor parameters)
KERNELS = [
    ("matmul basic", MM, "nki_matmul_basic_", "lhsT=128x64:bfloat16,rhs=128x512:bfloat16", {}),
    ("matmul tiled", MM, "nki_matmul_tiled_", "lhsT=256x256:bfloat16,rhs=256x1024:bfloat16", {}),
    ("matmul hoist load", MM, "nki_matmul_hoist_load_", "lhsT=256x256:bfloat16,rhs=256x1024:bfloat16", {}),
    ("matmul block free dim", MM, "nki_matmul_block_free_dimension_",
     "lhsT=256x512:bfloat16,rhs=256x2048:bfloat16", {}),
    ("matmul fully optimized", MM, "nki_matmul_fully_optimized_",
     "lhsT=1024x2048:bfloat16,rhs=1024x1024:bfloat16", {}),
    ("transpose2d", EX + "transpose2d/transpose2d_nki_kernels.py", "tensor_transpose2D_kernel_",
     "in_tensor=128x32:float32", {"shape2D": "(4, 8)"}),
    ("average pool2d", EX + "average_pool2d/average_pool2d_nki_kernels.py", "tensor_avgpool_kernel",
     "in_tensor=64x16x16:float32", {"pool_size": "2"}),
    ("layernorm v1", LN, "nki_layernorm_kernel_v1", LN_IN, {"epsilon": "1e-5"}),
    ("layernorm v2", LN, "nki_layernorm_kernel_v2", LN_IN, {"epsilon": "1e-5"}),
    ("rmsnorm", EX + "rmsnorm/rmsnorm_nki_kernels.py", "nki_rmsnorm_kernel",
     "a_tensor=256x512:float32,g_tensor=512:float32", {}),
    ("fused mamba v1", MAMBA, "mamba_v1", MAMBA_IN, {}),
    ("fused mamba v2", MAMBA, "mamba_v2", MAMBA_IN, {}),
    ("fused mamba v3", MAMBA, "mamba_v3", MAMBA_IN, {}),
    ("SPMD tensor add", EX + "tensor_addition/spmd_tensor_addition_nki_kernels.py", "nki_tensor_add_kernel_",
     "a_input=128x512:float16,b_input=128x512:float16", {}),
    ("SD attention", EX + "sd_attention/sd_attention_nki_kernels.py", "fused_self_attn_for_SD_small_head_size",
     "q_ref=1024x64:float32,k_ref=1024x64:float32,v_ref=1024x64:float32", {}),
    *[(f"attention {v}", ATT, f"attn_fwd_{v}", ",".join(f"{n}=128x{s}:float32" for n in "qkv"), {})
      for v, s in (("v1", 128), ("v2", 128), ("v3", 512), ("v4", 512), ("v5", 512), ("v6", 512))],
]


def git(sdk: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(sdk), *args], check=True, capture_output=True, text=True).stdout


def legacy_revision(sdk: Path, path: str) -> str | None:
    """The newest commit at which ``path`` exists and imports neuronxcc.nki."""
    for rev in git(sdk, "rev-list", "--all", "--", path).split():
        try:
            text = git(sdk, "show", f"{rev}:{path}")
        except subprocess.CalledProcessError:
            continue
        if "neuronxcc.nki" in text or "from neuronxcc import nki" in text:
            return rev
    return None


def without_missing_imports(source: str) -> str:
    """Drop top-level ``import X`` lines of packages not installed here (the tutorials' test helpers import
    torch); a kernel that really uses one fails to load, which the report shows."""
    import importlib.util

    lines = source.splitlines(keepends=True)
    for node in reversed(parse_python(source).body):
        if isinstance(node, ast.Import) and all(a.name.split(".")[0] not in ("neuronxcc", "nki") and
                                                importlib.util.find_spec(a.name.split(".")[0]) is None
                                                for a in node.names):
            del lines[node.lineno - 1:node.end_lineno]
    return "".join(lines)


def bind(source: str, function: str, values: dict[str, str]) -> str:
    """Remove the parameters in ``values`` from ``function``'s signature and assign them first in its body."""
    if not values:
        return source
    tree = parse_python(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    edits = SourceEdits(source)
    params = fn.args.args
    kept = [p for p in params if p.arg not in values]
    defaults = dict(zip([p.arg for p in params][len(params) - len(fn.args.defaults):], fn.args.defaults))
    text = [edits.render(p) + (f"={edits.render(defaults[p.arg])}" if p.arg in defaults else "") for p in kept]
    start, _ = edits.span(params[0])
    last = params[-1].arg
    _, end = edits.span(defaults[last] if last in defaults else params[-1])
    edits.replace_range(start, end, ", ".join(text))
    first = fn.body[1] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
        and len(fn.body) > 1 else fn.body[0]
    edits.insert_before(first, [f"{name} = {value}" for name, value in values.items()])
    return edits.apply()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdk", type=Path, required=True, help="clone of github.com/aws-neuron/aws-neuron-sdk")
    ap.add_argument("--rev", default=LEGACY_REV,
                    help=f"read every file at this commit (default {LEGACY_REV[:8]}, October 2025, the last with "
                         "every tutorial in the legacy dialect; 'newest' takes each file's newest legacy version)")
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    ap.add_argument("--only", help="run only kernels whose label contains this text")
    ap.add_argument("--target", default="trn1")
    ap.add_argument("--json", action="store_true", help="one JSON object per kernel instead of the table")
    args = ap.parse_args()
    if not (args.sdk / "HEAD").is_file() and not (args.sdk / ".git").exists():
        sys.exit(f"--sdk {args.sdk}: not a git clone of aws-neuron-sdk")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    evaluator = Evaluator("sim", workers=1, cache=False)
    rows = []
    try:
        for label, path, function, inputs, bound in KERNELS:
            if args.only and args.only not in label:
                continue
            rev = legacy_revision(args.sdk, path) if args.rev == "newest" else args.rev
            try:
                git(args.sdk, "cat-file", "-e", f"{rev}:{path}")
            except (subprocess.CalledProcessError, TypeError):
                rev = legacy_revision(args.sdk, path)
            if rev is None:
                rows.append((label, "-", {}, ["file not found in the clone's history"], "skipped", 0.0))
                continue
            source = bind(without_missing_imports(git(args.sdk, "show", f"{rev}:{path}")), function, bound)
            t = time.perf_counter()
            cases = spec_cases(source, function, [inputs], seeds)
            report = run_migration(source, function, cases, evaluator, target=args.target,
                                   filename=Path(path).name)
            eq = report.equivalence
            verdict = "yes" if report.equivalent else (
                "original fails" if eq.original_error else "no")
            findings = [f"{f.line}: {f.construct}" for f in report.migration.findings]
            if not report.equivalent and not findings:
                findings = [eq.failure()[:160]]
            rows.append((label, rev[:8], report.migration.rule_counts(), findings, verdict,
                         time.perf_counter() - t))
            if args.json:
                print(json.dumps({"kernel": label, "file": path, "rev": rev, "inputs": inputs, **report.to_dict()}))
    finally:
        evaluator.close()
    if not args.json:
        print(f"{'kernel':24} {'rev':8} {'equivalent':14} {'s':>5}  rules applied / findings")
        for label, rev, counts, findings, verdict, took in rows:
            rules = ", ".join(f"{k} x{v}" for k, v in counts.items()) or "-"
            print(f"{label:24} {rev:8} {verdict:14} {took:5.1f}  {rules}")
            for f in findings:
                print(f"{'':55}  finding {f}")
        done = sum(r[4] == "yes" for r in rows)
        print(f"\n{done} of {len(rows)} kernels migrated and proven equivalent (bit-exact, seeds {args.seeds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
