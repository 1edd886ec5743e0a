"""import-harness: Autocomp-style harnesses (written by these tests) become loadable, passing problems."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from autocomp.harness import HarnessError, convert_harness, default_name
from autocomp.problem import Problem
from autocomp.suite import check_kernel
from tests.fakes.problem_harnesses import AXPY_V2_TORCH, PREFIX_SUM_V1, SCALED_ADD_INLINE


def write(tmp_path, text: str, filename: str = "7_demo_test.py"):
    path = tmp_path / filename
    path.write_text(text)
    return path


def convert(tmp_path, text: str, **kwargs):
    return convert_harness(write(tmp_path, text), problems_root=tmp_path / "problems", **kwargs)


def passes_on_every_seed(problem: Problem) -> bool:
    return all(c.passed for seed in problem.spec.seeds for c in check_kernel(problem, seed))


def test_v1_harness_with_numpy_reference(tmp_path):
    result = convert(tmp_path, PREFIX_SUM_V1)
    assert result.root == tmp_path / "problems" / "demo"
    assert (result.function, result.dialect) == ("row_prefix_sum", "v1")
    assert result.reference_kind.startswith("numpy expression from test_nki")
    problem = Problem.load(result.root)
    assert problem.spec.check_shapes and problem.spec.tolerance.atol == pytest.approx(1e-3)
    assert [a.shape for a in problem.input_specs()] == [(2048, 1024)]  # benchmark_nki's nt.tensor placeholder
    (x,) = problem.inputs(0)
    assert x.shape == (200, 250) and x.dtype == np.float32  # test_nki's shape (a helper call evaluated)
    assert x.min() >= 0 and (x == 0).any() and x.max() / np.median(x[x > 0]) > 10  # rand(): non-negative, wide
    assert passes_on_every_seed(problem)

    kernel = (result.root / "kernel.py").read_text()
    defined = {n.name if hasattr(n, "name") else ast.unparse(n.targets[0]) for n in ast.parse(kernel).body
               if isinstance(n, (ast.FunctionDef, ast.Assign))}
    assert defined == {"div_ceil", "P_TILE", "row_prefix_sum"}  # what the kernel needs, nothing else
    assert "  rows, cols = x.shape" in kernel  # original text kept, comments and indentation included
    assert "numpy_prefix" in (result.root / "reference.py").read_text()


def test_v2_torch_harness_uses_its_kernel_as_reference(tmp_path):
    result = convert(tmp_path, AXPY_V2_TORCH, name="axpy", target="trn2")
    assert (result.name, result.function, result.dialect) == ("axpy", "ref", "v2")
    assert "run in the simulator" in result.reference_kind
    problem = Problem.load(result.root)
    assert problem.spec.target == "trn2"
    a, b = problem.inputs(1)
    assert a.shape == (256, 512) and str(a.dtype) == "bfloat16"  # torch.tensor(..., dtype=torch.bfloat16)
    assert (a < 0).any() and (b >= 0).all()  # randn keeps both signs, rand stays non-negative
    assert [(s.shape, str(s.dtype)) for s in problem.input_specs()] == [((2048, 1024), "bfloat16")] * 2
    assert passes_on_every_seed(problem)
    for path in ("kernel.py", "reference.py"):
        assert "torch" not in (result.root / path).read_text()


def test_inline_numpy_expectation_over_converted_inputs(tmp_path):
    result = convert(tmp_path, SCALED_ADD_INLINE)
    problem = Problem.load(result.root)
    assert not problem.spec.check_shapes  # no benchmark_nki: test_nki's shapes are the timing shapes
    reference = (result.root / "reference.py").read_text()
    assert "def reference(x, y):" in reference and "scaled = 3.0 * x" in reference  # x_host renamed to x
    x, _ = problem.inputs(0)
    assert x.dtype == np.float32 and (x < 0).any()  # uniform(-2, 2) keeps both signs
    assert problem.inputs(0)[1].dtype == np.float32  # y stays float64 in the harness: narrowed
    assert any("float64" in note for note in result.notes)
    assert passes_on_every_seed(problem)


def test_function_option_picks_a_kernel(tmp_path):
    result = convert(tmp_path, SCALED_ADD_INLINE.replace("print(test_nki(scaled_add, solution))", "pass"),
                     function="scaled_add")
    assert result.function == "scaled_add"


def test_several_kernels_without_a_main_block_need_function(tmp_path):
    with pytest.raises(HarnessError, match="several kernels \\(scaled_add, unused_kernel\\); choose one with "
                                           "--function"):
        convert(tmp_path, SCALED_ADD_INLINE.replace("print(test_nki(scaled_add, solution))", "pass"))


def test_existing_output_needs_force(tmp_path):
    convert(tmp_path, SCALED_ADD_INLINE)
    with pytest.raises(HarnessError, match="already exists; pass --force"):
        convert(tmp_path, SCALED_ADD_INLINE)
    convert(tmp_path, SCALED_ADD_INLINE, force=True)


@pytest.mark.parametrize("text, message", [
    ("import numpy as np\n\ndef add(a, b):\n    return a + b\n", "not an Autocomp-style harness"),
    ("# SUBSTITUTE HERE\ndef test_nki(ref_func, test_func:\n    pass\n", r"7_demo_test.py:2: syntax error"),
    ("import numpy as np\n# SUBSTITUTE HERE\ndef test_nki(ref_func, test_func):\n    pass\n",
     "imports neither neuronxcc.nki"),
    ("import neuronxcc.nki as nki\n# SUBSTITUTE HERE\ndef test_nki(ref_func, test_func):\n    pass\n",
     "no NKI kernel found"),
])
def test_files_that_are_not_harnesses(tmp_path, text, message):
    with pytest.raises(HarnessError, match=message):
        convert(tmp_path, text)


def test_missing_and_non_python_files(tmp_path):
    with pytest.raises(HarnessError, match="no such file"):
        convert_harness(tmp_path / "absent.py")
    (tmp_path / "notes.txt").write_text("# SUBSTITUTE HERE")
    with pytest.raises(HarnessError, match="expected a Python harness"):
        convert_harness(tmp_path / "notes.txt")


def test_unknown_input_shape_names_the_line(tmp_path):
    text = PREFIX_SUM_V1.replace("x = np.random.rand(200, div_ceil(500, 2)).astype(np.float32)",
                                 "x = load_matrix('data.bin')")
    text = text.replace("  x = nt.tensor[[2048, 1024], nl.float32]", "  x = read_shape()")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "bench_func(x)" in t)
    with pytest.raises(HarnessError, match=rf"7_demo_test.py:{line}: cannot work out the shape of argument 0 `x` "
                                           r"of the kernel call in benchmark_nki \(assigned from `read_shape\(\)`"):
        convert(tmp_path, text)


def test_non_array_kernel_argument(tmp_path):
    text = PREFIX_SUM_V1.replace("  bench_func(x)", "  bench_func(x, 4)")
    with pytest.raises(HarnessError, match="argument 1 `4` .* is 4, not an array"):
        convert(tmp_path, text)


def test_kernel_that_uses_torch_is_refused(tmp_path):
    text = AXPY_V2_TORCH.replace("    rows, cols = a.shape", "    rows, cols = a.shape\n    torch.manual_seed(0)")
    with pytest.raises(HarnessError, match="kernel `ref` uses torch"):
        convert(tmp_path, text)


def test_no_kernel_call_to_take_shapes_from(tmp_path):
    text = SCALED_ADD_INLINE.replace("np.allclose(test_func(x, y), expected, rtol=1e-5, atol=1e-5)", "True")
    with pytest.raises(HarnessError, match="found no kernel call in benchmark_nki"):
        convert(tmp_path, text)


@pytest.mark.parametrize("filename, name", [("3_rope_test.py", "rope"), ("12_flash attn_test.py", "flash_attn"),
                                            ("gemm.py", "gemm")])
def test_default_names(filename, name):
    from pathlib import Path

    assert default_name(Path(filename)) == name
