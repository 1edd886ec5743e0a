"""Every documented NKI function of both dialects is present, has its documented signature and works.

"Works" means a behaviour test checks its numbers: ``tests/nki/data/behaviour_tests.json`` names, per
documented function, the tests in ``tests/nki/`` that exercise it, and ``tests/fakes/api_coverage.py``
checks from each test's code that it really calls the function and asserts values. A documented function
with no such test fails unless ``NOT_WORKING`` gives the documented reason it cannot be simulated.
``python -m tests.fakes.api_coverage`` prints the table (``--suggest`` proposes tests for a missing entry).
"""

from __future__ import annotations

import pytest

from tests.fakes.api_coverage import (
    NOT_WORKING,
    all_tests,
    coverage,
    documented_functions,
    evidence_problems,
    registry,
    scan_module,
)
from tests.nki.test_api_signatures import EXCEPTIONS as SIGNATURE_EXCEPTIONS

DIALECTS = ("v1", "v2")


@pytest.fixture(scope="module")
def tests():
    return all_tests()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_listed_behaviour_test_exercises_its_function_and_checks_numbers(dialect, tests):
    documented = set(documented_functions(dialect))
    problems = []
    for key, node_ids in registry()[dialect].items():
        if key not in documented:
            problems.append(f"{key}: not a documented {dialect} function; remove it from the registry")
        if not node_ids:
            problems.append(f"{key}: listed without a test")
        for node_id in node_ids:
            problems += [f"{key}: {p}" for p in evidence_problems(key, node_id, tests)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_documented_function_has_a_behaviour_test_or_a_documented_reason(dialect):
    listed, excepted = registry()[dialect], NOT_WORKING[dialect]
    keys = documented_functions(dialect)
    missing = [k for k in keys if not listed.get(k) and k not in excepted]
    both = [k for k in keys if listed.get(k) and k in excepted]
    stale = sorted(set(excepted) - set(keys))
    assert not missing, "no behaviour test (add one and list it in tests/nki/data/behaviour_tests.json):\n" + \
        "\n".join(missing)
    assert not both, f"has a behaviour test, remove it from NOT_WORKING: {both}"
    assert not stale, f"in NOT_WORKING but not documented: {stale}"
    assert all(len(reason.split()) >= 8 for reason in excepted.values())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_coverage_is_complete_up_to_the_listed_exceptions(dialect):
    cov = coverage(dialect, NOT_WORKING[dialect])
    print(cov.line())
    signature_excepted = sum(k in SIGNATURE_EXCEPTIONS[dialect] for k in documented_functions(dialect))
    assert cov.present == cov.documented, cov.line()
    assert cov.matching + signature_excepted == cov.documented, cov.line()
    assert cov.working + cov.excepted == cov.documented, cov.line()


def test_the_evidence_rules_refuse_weak_tests(tmp_path):
    source = '''
import numpy as np
import nki
import nki.isa as nisa
import nki.language as nl

@nki.jit
def kernel(x):
    t = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.activation(dst=t, op=nl.exp, data=x)
    return nl.sigmoid(t)

def test_operand_only(x):
    np.testing.assert_allclose(kernel(x), np.exp(x))

def test_error_code_only(err):
    kernel(1)
    assert err.value.code == "err_unsupported_dtype"

def test_numpy_reshape_in_the_test_body():
    y = np.zeros(4).reshape(2, 2)
    kernel(y)
    assert y.sum() == 0
'''
    path = tmp_path / "test_weak.py"
    path.write_text(source)
    found = {code.node_id.split("::")[1]: code for code in scan_module(path).values()}
    ids = {name: code.node_id for name, code in found.items()}
    assert evidence_problems("nki.language.exp", ids["test_operand_only"], found_by_id(found))
    assert not evidence_problems("nki.language.sigmoid", ids["test_operand_only"], found_by_id(found))
    assert not evidence_problems("nki.isa.activation", ids["test_operand_only"], found_by_id(found))
    assert evidence_problems("nki.language.sigmoid", ids["test_error_code_only"], found_by_id(found))
    assert evidence_problems("nki.language.NkiTensor.reshape", ids["test_numpy_reshape_in_the_test_body"],
                             found_by_id(found))
    assert evidence_problems("nki.isa.activation", "tests/nki/test_missing.py::test_x", found_by_id(found))


def found_by_id(found):
    return {code.node_id: code for code in found.values()}
