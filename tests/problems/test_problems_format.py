"""Problem.load turns every mistake in a problem directory into one ProblemError naming the file and the fix."""

from __future__ import annotations

import re

import pytest

from autocomp.problem import Problem, ProblemError
from autocomp.suite.scaffold import scaffold


@pytest.fixture
def problem_dir(tmp_path):
    return scaffold("demo", tmp_path)


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def load_error(root) -> str:
    with pytest.raises(ProblemError) as err:
        Problem.load(root)
    return str(err.value)


def test_the_scaffold_itself_loads(problem_dir):
    problem = Problem.load(problem_dir / "problem.toml")  # the toml path works as well as the directory
    assert problem.name == "demo" and problem.spec.knobs == {"TILE_F": [256, 512, 1024, 2048]}


def test_missing_directory(tmp_path):
    assert "no such problem directory" in load_error(tmp_path / "absent")


@pytest.mark.parametrize("filename", ["problem.toml", "kernel.py", "reference.py"])
def test_missing_file(problem_dir, filename):
    (problem_dir / filename).unlink()
    message = load_error(problem_dir)
    assert f"{problem_dir / filename}: missing" in message and "autocomp problems new" in message


def test_unknown_key(problem_dir):
    edit(problem_dir / "problem.toml", 'target = "trn1"', 'target = "trn1"\ncolour = "blue"')
    message = load_error(problem_dir)
    assert "problem.toml" in message and "unknown key 'colour'" in message and "known keys" in message


def test_bad_toml(problem_dir):
    toml = problem_dir / "problem.toml"
    edit(toml, 'dialect = "v2"', "dialect = v1 v2")
    line = next(i for i, text in enumerate(toml.read_text().splitlines(), 1) if text.startswith("dialect"))
    assert re.search(rf"problem\.toml: invalid TOML: .*line {line}\b", load_error(problem_dir))


def test_too_few_seeds(problem_dir):
    edit(problem_dir / "problem.toml", "seeds = [0, 1, 2]", "seeds = [7]")
    message = load_error(problem_dir)
    assert "seeds" in message and "at least 3 seeds" in message and "[7]" in message


def test_duplicate_seeds(problem_dir):
    edit(problem_dir / "problem.toml", "seeds = [0, 1, 2]", "seeds = [1, 1, 2]")
    assert "distinct" in load_error(problem_dir)


def test_bad_dialect_value(problem_dir):
    edit(problem_dir / "problem.toml", 'dialect = "v2"', 'dialect = "v3"')
    message = load_error(problem_dir)
    assert "dialect" in message and "'v3'" in message


def test_function_not_found(problem_dir):
    edit(problem_dir / "problem.toml", 'function = "demo"', 'function = "nope"')
    message = load_error(problem_dir)
    assert f"{problem_dir / 'kernel.py'}: no top-level function 'nope'" in message and "demo" in message


def test_kernel_syntax_error_names_the_line(problem_dir):
    edit(problem_dir / "kernel.py", "    rows, cols = x.shape", "    rows, cols = = x.shape")
    assert re.search(r"kernel\.py:\d+: syntax error", load_error(problem_dir))


def test_knob_that_is_not_a_module_constant(problem_dir):
    edit(problem_dir / "problem.toml", "TILE_F = [256", "TILE_Q = [128]\nTILE_F = [256")
    message = load_error(problem_dir)
    assert "knob 'TILE_Q'" in message and "not a module-level constant" in message and "TILE_Q = 128" in message


def test_knob_computed_at_runtime_is_not_a_constant(problem_dir):
    edit(problem_dir / "kernel.py", "TILE_F = 512", "TILE_F = 2 ** 9 if True else 256")
    assert "knob 'TILE_F'" in load_error(problem_dir)


def test_knob_without_values(problem_dir):
    edit(problem_dir / "problem.toml", "TILE_F = [256, 512, 1024, 2048]", "TILE_F = []")
    assert "has no values" in load_error(problem_dir)


def test_failing_reference_names_file_and_line(problem_dir):
    ref = problem_dir / "reference.py"
    edit(ref, "    return x.astype(np.float64) * SCALE + y.astype(np.float64)",
         "    scale = {}['missing']\n    return x * scale")
    line = next(i for i, text in enumerate(ref.read_text().splitlines(), 1) if "['missing']" in text)
    message = load_error(problem_dir)
    assert f"{ref}:{line}: reference(*inputs) failed: KeyError" in message


def test_failing_make_inputs_names_file_and_line(problem_dir):
    ref = problem_dir / "reference.py"
    edit(ref, "    return _inputs(rng, CHECK_ROWS, CHECK_COLS)", "    return _inputs(rng, CHECK_ROWS, 1 / 0)")
    line = next(i for i, text in enumerate(ref.read_text().splitlines(), 1) if "1 / 0" in text)
    assert f"{ref}:{line}: make_check_inputs(rng) failed: ZeroDivisionError" in load_error(problem_dir)


def test_reference_import_error(problem_dir):
    edit(problem_dir / "reference.py", "import numpy as np", "import numpy as np\nimport not_a_module_xyz")
    assert "importing reference.py failed: ModuleNotFoundError" in load_error(problem_dir)


def test_float64_inputs_are_refused(problem_dir):
    edit(problem_dir / "reference.py", "return mixed(rng, (rows, cols)), mixed(rng, (rows, cols))",
         "return mixed(rng, (rows, cols), dtype=np.float64), mixed(rng, (rows, cols))")
    message = load_error(problem_dir)
    assert "item 0 is float64" in message and "float32 or bfloat16" in message


def test_list_inputs_are_refused(problem_dir):
    edit(problem_dir / "reference.py", "return mixed(rng, (rows, cols)), mixed(rng, (rows, cols))",
         "return [[1.0, 2.0]], mixed(rng, (rows, cols))")
    assert "item 0 is list, not a numpy array" in load_error(problem_dir)


def test_inputs_must_be_a_tuple_of_arrays(problem_dir):
    edit(problem_dir / "reference.py", "return mixed(rng, (rows, cols)), mixed(rng, (rows, cols))", "return 3")
    assert "must return a tuple of numpy arrays, got int" in load_error(problem_dir)


def test_check_shapes_needs_make_check_inputs(problem_dir):
    edit(problem_dir / "reference.py", "def make_check_inputs(rng):", "def make_small_inputs(rng):")
    message = load_error(problem_dir)
    assert "missing function make_check_inputs" in message and "check_shapes = true" in message


def test_non_numeric_reference_output(problem_dir):
    edit(problem_dir / "reference.py", "    return x.astype(np.float64) * SCALE + y.astype(np.float64)",
         "    return np.array(['a', 'b'])")
    assert "reference output 0 is not numeric" in load_error(problem_dir)


def test_knob_constraints_load_and_a_bad_one_names_the_file_expression_and_problem(problem_dir):
    edit(problem_dir / "problem.toml", "TILE_F = [256, 512, 1024, 2048]",
         'TILE_F = [256, 512, 1024, 2048]\nconstraints = ["TILE_F <= 1024"]')
    problem = Problem.load(problem_dir)
    assert problem.spec.knobs == {"TILE_F": [256, 512, 1024, 2048]}
    assert [c.text for c in problem.knob_constraints] == ["TILE_F <= 1024"]
    edit(problem_dir / "problem.toml", '"TILE_F <= 1024"', '"open(TILE_F) < 1"')
    message = load_error(problem_dir)
    assert "problem.toml" in message and "'open(TILE_F) < 1'" in message and "problem demo" in message
    assert "not allowed" in message


def test_knob_constraint_rejecting_the_baseline(problem_dir):
    edit(problem_dir / "problem.toml", "TILE_F = [256, 512, 1024, 2048]",
         'TILE_F = [256, 512, 1024, 2048]\nconstraints = ["TILE_F < 512"]')
    assert "rejects the baseline's own configuration (TILE_F=512)" in load_error(problem_dir)
