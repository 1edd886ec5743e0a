"""Problem variants: NAME@VARIANT picks another baseline of the same problem (the suite's legacy-dialect kernels).

Covers loading and resolving a variant, its errors, what it changes (kernel, dialect, knobs, name, cache hash),
the dialect of problem directories that do not say it, and the bundled suite: every default baseline is in the
current dialect and every legacy variant is still correct.
"""

from __future__ import annotations

import json
import shutil

import pytest

from autocomp.problem import Problem, ProblemError, find_problems, kernel_dialect
from autocomp.suite import check_kernel
from autocomp.suite.location import bundled_problems_dir, load_problem, resolve_problem, split_variant

SUITE = bundled_problems_dir()
PROBLEMS = find_problems(SUITE)
WITH_LEGACY = [p for p in PROBLEMS if "[variants.legacy]" in (p / "problem.toml").read_text()]

LEGACY_KERNEL = '''import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

TILE = 128


@nki.jit
def double(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(x.shape[0] // TILE):
        t = nl.load(x[i * TILE:(i + 1) * TILE, :])
        nl.store(out[i * TILE:(i + 1) * TILE, :], value=nl.multiply(t, 2.0))
    return out
'''

CURRENT_KERNEL = '''import nki
import nki.isa as nisa
import nki.language as nl

TILE = 128


@nki.jit
def double(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in range(x.shape[0] // TILE):
        t = nl.ndarray((TILE, x.shape[1]), dtype=x.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=t, src=x[i * TILE:(i + 1) * TILE, :])
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)
        nisa.dma_copy(dst=out[i * TILE:(i + 1) * TILE, :], src=t)
    return out
'''

REFERENCE = '''import numpy as np


def make_inputs(rng):
    return (rng.standard_normal((256, 64)).astype(np.float32),)


def reference(x):
    return 2.0 * x
'''


def _problem(root, *, toml_extra: str = "", dialect: str | None = "v2", kernel: str = CURRENT_KERNEL,
             legacy: str | None = LEGACY_KERNEL):
    root.mkdir(parents=True)
    head = 'name = "double"\nfunction = "double"\n' + (f'dialect = "{dialect}"\n' if dialect else "")
    (root / "problem.toml").write_text(head + "[knobs]\nTILE = [128]\n" + toml_extra)
    (root / "kernel.py").write_text(kernel)
    (root / "reference.py").write_text(REFERENCE)
    if legacy is not None:
        (root / "kernel_legacy.py").write_text(legacy)
    return root


VARIANT = '\n[variants.legacy]\nkernel = "kernel_legacy.py"\ndialect = "v1"\n'


# ---------------------------------------------------------------- loading and resolving


def test_a_variant_is_its_own_kernel_dialect_name_and_cache_key(tmp_path):
    root = _problem(tmp_path / "double", toml_extra=VARIANT)
    default, legacy = Problem.load(root), Problem.load(root, "legacy")
    assert (default.name, default.variant, default.kernel_path.name, default.spec.dialect) == \
        ("double", None, "kernel.py", "v2")
    assert (legacy.name, legacy.variant, legacy.kernel_path.name, legacy.spec.dialect) == \
        ("double@legacy", "legacy", "kernel_legacy.py", "v1")
    assert legacy.baseline_source == LEGACY_KERNEL and default.baseline_source == CURRENT_KERNEL
    assert legacy.content_hash != default.content_hash
    assert legacy.describe()["variants"] == ["legacy"] and legacy.describe()["kernel"] == "kernel_legacy.py"
    assert "kernel_legacy.py" in default.files
    for seed in legacy.spec.seeds:
        assert all(c.passed for c in check_kernel(legacy, seed))
        assert all(c.passed for c in check_kernel(default, seed))


def test_name_at_variant_resolves_wherever_a_name_does(tmp_path, monkeypatch):
    _problem(tmp_path / "double", toml_extra=VARIANT)
    assert load_problem("double@legacy", tmp_path).name == "double@legacy"
    assert load_problem(str(tmp_path / "double") + "@legacy").variant == "legacy"
    assert resolve_problem("double@legacy", tmp_path) == tmp_path / "double"
    monkeypatch.setenv("AUTOCOMP_PROBLEMS", str(tmp_path))
    assert load_problem("double@legacy").spec.dialect == "v1"
    assert load_problem("double").variant is None


def test_split_variant_keeps_a_directory_whose_name_has_an_at(tmp_path):
    odd = tmp_path / "odd@name"
    odd.mkdir()
    assert split_variant(odd) == (str(odd), None)
    assert split_variant("gemm_bf16@legacy") == ("gemm_bf16", "legacy")
    assert split_variant("gemm_bf16") == ("gemm_bf16", None)
    assert split_variant("@legacy") == ("@legacy", None)


def test_an_unknown_variant_lists_the_known_ones(tmp_path):
    _problem(tmp_path / "double", toml_extra=VARIANT)
    with pytest.raises(ProblemError, match=r"no variant 'fast'; its variants: legacy \(address one as "
                                           r"double@legacy\)"):
        load_problem("double@fast", tmp_path)


def test_a_variant_of_a_problem_without_variants_says_so(tmp_path):
    _problem(tmp_path / "double", legacy=None)
    with pytest.raises(ProblemError, match=r"declares no \[variants\] \(drop the @ part\)"):
        load_problem("double@legacy", tmp_path)


def test_a_variant_whose_kernel_file_is_missing_names_it(tmp_path):
    _problem(tmp_path / "double", toml_extra=VARIANT, legacy=None)
    with pytest.raises(ProblemError, match=r"kernel_legacy.py: missing; problem.toml \[variants.legacy\]"):
        Problem.load(tmp_path / "double")


@pytest.mark.parametrize("body, message", [
    ('kernel = "kernel.py"', "is the problem's own file"),
    ('kernel = "../elsewhere.py"', "variants.legacy.kernel"),
    ('kernel = "kernel_legacy.py"\nspeed = 2', "unknown key 'variants.legacy.speed'"),
])
def test_bad_variant_declarations_are_refused(tmp_path, body, message):
    _problem(tmp_path / "double", toml_extra=f"\n[variants.legacy]\n{body}\n")
    with pytest.raises(ProblemError, match=message):
        Problem.load(tmp_path / "double")


def test_a_variant_may_override_the_knobs(tmp_path):
    legacy = LEGACY_KERNEL.replace("TILE = 128", "TILE = 128\nUNROLL = 1")
    root = _problem(tmp_path / "double", legacy=legacy,
                    toml_extra=VARIANT + "[variants.legacy.knobs]\nUNROLL = [1, 2]\n")
    toml = root / "problem.toml"
    toml.write_text(toml.read_text().replace("TILE = [128]\n", 'TILE = [128]\nconstraints = ["TILE >= 128"]\n'))
    default, legacy = load_problem("double", tmp_path), load_problem("double@legacy", tmp_path)
    assert (default.spec.knobs, default.spec.knob_constraints) == ({"TILE": [128]}, ["TILE >= 128"])
    assert (legacy.spec.knobs, legacy.spec.knob_constraints) == ({"UNROLL": [1, 2]}, [])


def test_a_missing_dialect_is_read_from_the_kernel_imports(tmp_path):
    """problem.toml files written before the default became v2 load as the dialect their kernel imports."""
    old = Problem.load(_problem(tmp_path / "old", dialect=None, kernel=LEGACY_KERNEL, legacy=None))
    new = Problem.load(_problem(tmp_path / "new", dialect=None, legacy=None))
    assert (old.spec.dialect, new.spec.dialect) == ("v1", "v2")
    variant = Problem.load(_problem(tmp_path / "v", toml_extra='\n[variants.legacy]\nkernel = "kernel_legacy.py"\n'),
                           "legacy")
    assert variant.spec.dialect == "v1"
    assert kernel_dialect("import numpy as np\n") is None


def test_the_run_snapshot_keeps_the_variant(tmp_path):
    from autocomp.store import RunReader, RunStore

    problem = Problem.load(_problem(tmp_path / "double", toml_extra=VARIANT), "legacy")
    store = RunStore.create(tmp_path / "runs", problem)
    try:
        assert (store.root / "problem" / "kernel_legacy.py").read_text() == LEGACY_KERNEL
        assert "double-legacy" in store.root.name
    finally:
        store.close()
    with RunReader.open_readonly(store.root) as reader:
        assert reader.info.problem == "double@legacy" and reader.problem_variant == "legacy"
        again = Problem.load(reader.problem_dir(), reader.problem_variant)
    assert (again.name, again.baseline_source, again.spec.dialect) == ("double@legacy", LEGACY_KERNEL, "v1")


# ---------------------------------------------------------------- the bundled suite


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_every_default_baseline_is_in_the_current_dialect(path):
    problem = Problem.load(path)
    assert problem.spec.dialect == "v2" and kernel_dialect(problem.baseline_source) == "v2"
    assert 'dialect = "v2"' in (path / "problem.toml").read_text()


def test_the_legacy_kernels_stay_as_variants():
    assert len(WITH_LEGACY) >= 16
    for path in WITH_LEGACY:
        legacy = Problem.load(path, "legacy")
        assert legacy.spec.dialect == "v1" and kernel_dialect(legacy.baseline_source) == "v1", path.name
        assert legacy.spec.knobs == Problem.load(path).spec.knobs, f"{path.name}: the same knobs in both dialects"


@pytest.mark.parametrize("path", WITH_LEGACY, ids=[p.name for p in WITH_LEGACY])
def test_every_legacy_variant_is_still_correct_on_every_seed(path):
    problem = Problem.load(path, "legacy")
    for seed in problem.spec.seeds:
        for i, result in enumerate(check_kernel(problem, seed)):
            assert result.passed, f"{problem.name} seed {seed} output {i}: {result.reason}"


def test_show_and_list_name_the_variants(runner, cli, tmp_path):
    shutil.copytree(SUITE / "softmax", tmp_path / "softmax")
    shown = runner.invoke(cli, ["problems", "show", "softmax@legacy", "--dir", str(tmp_path), "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.stdout)
    assert (info["name"], info["dialect"], info["variant"]) == ("softmax@legacy", "v1", "legacy")
    assert info["files"]["kernel_legacy.py"].endswith("kernel_legacy.py")
    listed = runner.invoke(cli, ["problems", "list", "--dir", str(tmp_path), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert sorted(rows) == ["softmax", "softmax@legacy"]
    assert (rows["softmax"]["dialect"], rows["softmax@legacy"]["dialect"]) == ("v2", "v1")
    assert all(r["latency_us"] > 0 for r in rows.values())
    bad = runner.invoke(cli, ["problems", "show", "softmax@fast", "--dir", str(tmp_path)])
    assert bad.exit_code != 0 and "its variants: legacy" in bad.output
