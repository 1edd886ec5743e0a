"""`autocomp migrate` end to end: the report, --json, shapes from --inputs, the LLM fallback against a scripted
fake server and through --model manual, and bad input (one line naming the value and the fix, exit 2)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.migrate.equivalence import compare
from tests.fakes.eval_support import private_cache  # noqa: F401 - autouse fixture
from tests.fakes.llm_server import FakeLLMServer, Reply, openai_ok

ROOT = Path(__file__).resolve().parents[2]
SOFTMAX = ROOT / "problems" / "softmax" / "kernel_legacy.py"  # the legacy variant


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["migrate", *map(str, args)], catch_exceptions=False, input=input)


def test_problem_kernel_migrates_with_a_json_report(tmp_path):
    out = tmp_path / "softmax_v2.py"
    res = invoke(SOFTMAX, "-f", "softmax", "--problem", "softmax", "--seeds", "0,1", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["equivalent"] is True and report["by"] == "rules" and report["findings"] == []
    assert report["rules_applied"] == {"imports": 2, "loops": 1}
    assert [c["detail"] for c in report["equivalence"]["cases"]] == ["bit-exact", "bit-exact"]
    assert report["equivalence"]["tolerance"] == "bit-exact"
    assert out.read_text().startswith('"""Row softmax') and "import nki.language as nl" in out.read_text()


def test_inputs_give_several_shapes_and_the_default_out_file(tmp_path):
    kernel = tmp_path / "softmax.py"
    kernel.write_text(SOFTMAX.read_text())
    res = invoke(kernel, "-f", "softmax", "--inputs", "x=128x64:float32", "--inputs", "x=384x256:float32",
                 "--seeds", "3")
    assert res.exit_code == 0, res.output
    assert "equivalent" in res.output and "x=128x64:float32" in res.output and "x=384x256:float32" in res.output
    assert (tmp_path / "softmax_v2.py").is_file()


def test_a_dialect_difference_the_rules_cannot_see_is_caught_by_the_proof(tmp_path):
    # v2 wants float32 per-partition scalar operands (nl.subtract(x_t, row_max) with bf16 x): v1 accepts bf16.
    kernel = tmp_path / "softmax.py"
    kernel.write_text(SOFTMAX.read_text())
    res = invoke(kernel, "-f", "softmax", "--inputs", "x=128x64:bfloat16", "--seeds", "0", "--json")
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)
    assert report["equivalent"] is False and report["findings"] == []
    assert "err_unsupported_dtype" in report["equivalence"]["migrated_error"]


MGRID = textwrap.dedent('''\
    import neuronxcc.nki as nki
    import neuronxcc.nki.language as nl


    @nki.jit
    def double(x):
        out = nl.ndarray((128, 512), dtype=x.dtype, buffer=nl.shared_hbm)
        i_p, i_f = nl.mgrid[0:128, 0:512]
        t = nl.load(x[i_p, i_f])
        nl.store(out[i_p, i_f], value=nl.multiply(t, 2.0), mask=(i_f < 512))  # no v2 form: left to the LLM
        return out
    ''')

V2_DOUBLE = textwrap.dedent('''\
    import nki
    import nki.language as nl


    @nki.jit
    def double(x):
        out = nl.ndarray((128, 512), dtype=x.dtype, buffer=nl.shared_hbm)
        t = nl.load(x[0:128, 0:512])
        nl.store(out[0:128, 0:512], value=nl.multiply(t, {factor}))
        return out
    ''')


def answer(factor: str) -> Reply:
    return Reply(body=openai_ok(f"```python\n{V2_DOUBLE.format(factor=factor)}```\nIndexed with slices."))


def test_the_llm_finishes_what_the_rules_left_until_it_is_equivalent(tmp_path):
    kernel = tmp_path / "double.py"
    kernel.write_text(MGRID)
    with FakeLLMServer(lambda req: answer("2.0")) as server:
        server.push(answer("3.0"))  # the first answer computes something else: refuted, asked again
        res = invoke(kernel, "-f", "double", "--inputs", "x=128x512:float32", "--model", "vllm:fake-coder",
                     "--llm-base-url", server.url + "/v1", "--json")
        prompts = [r.body["messages"][-1]["content"] for r in server.requests]
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["equivalent"] is True and report["by"] == "rules+llm"
    assert [f["construct"] for f in report["findings"]] == ["nl.mgrid", "nl.store(mask=...)"]
    assert [r["verdict"].split(":")[0] for r in report["assist"]["rounds"]] == ["not equivalent", "equivalent"]
    assert len(prompts) == 2
    assert "nl.store(mask=...)" in prompts[0] and "the migrated kernel failed" in prompts[0]
    assert "current NKI dialect" in prompts[0] or "nki" in prompts[0]
    assert "elements differ" in prompts[1] and "nl.multiply(t, 3.0)" in prompts[1]
    assert "nl.multiply(t, 2.0)" in (tmp_path / "double_v2.py").read_text()


def test_the_llm_gives_up_after_the_rounds_and_the_command_says_so(tmp_path):
    kernel = tmp_path / "double.py"
    kernel.write_text(MGRID)
    with FakeLLMServer(lambda req: answer("3.0")) as server:
        res = invoke(kernel, "-f", "double", "--inputs", "x=128x512:float32", "--model", "vllm:fake-coder",
                     "--llm-base-url", server.url + "/v1", "--rounds", "2")
        calls = len(server.requests)
    assert res.exit_code == 1, res.output
    assert calls == 2 and "NOT equivalent" in res.output and "not equivalent after 2 round(s)" in res.output
    assert "line 8: nl.mgrid" in res.output


def test_manual_model_answers_on_stdin(tmp_path):
    kernel = tmp_path / "double.py"
    kernel.write_text(MGRID)
    typed = f"```python\n{V2_DOUBLE.format(factor='2.0')}```\nEOF\n"
    res = invoke(kernel, "-f", "double", "--inputs", "x=128x512:float32", "--model", "manual", input=typed)
    assert res.exit_code == 0, res.output
    assert "equivalent" in res.output and "migrated by rules+llm" in res.output
    assert list((tmp_path / "double_v2.manual").glob("*.prompt.md"))


def test_compare_is_bit_exact_unless_a_tolerance_is_given():
    import numpy as np

    a = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    assert compare(a, a.copy(), 0, 0) is None  # NaN in the same place is the same bits
    b = np.array([1.0, np.nan, 3.0000002], dtype=np.float32)
    assert "1 of 3 elements differ" in compare(a, b, 0, 0)
    assert compare(a, b, 0, 1e-6) is None
    assert "NaN" in compare(a, np.array([1.0, 2.0, 3.0], dtype=np.float32), 1.0, 0)
    assert "dtype" in compare(a, a.astype(np.float16), 0, 0)


@pytest.mark.parametrize("args, message", [
    (["missing.py", "-f", "k", "--problem", "softmax"], "missing.py: no such kernel file"),
    ([SOFTMAX, "-f", "softmax"], "no inputs: pass --problem NAME"),
    ([SOFTMAX, "-f", "nope", "--problem", "softmax"], "no top-level function 'nope' (it defines softmax)"),
    ([SOFTMAX, "-f", "softmax", "--inputs", "y=128x64:float32"], "y is not a parameter of softmax(x)"),
    ([SOFTMAX, "-f", "softmax", "--inputs", "x=12qx64"], "--inputs 'x=12qx64'"),
    ([SOFTMAX, "-f", "softmax", "--problem", "no_such_problem"], "no_such_problem"),
    ([SOFTMAX, "-f", "softmax", "--problem", "softmax", "--seeds", "a,b"], "--seeds 'a,b'"),
    ([SOFTMAX, "-f", "softmax", "--problem", "softmax", "--out", SOFTMAX], "is the kernel file itself"),
    ([SOFTMAX, "-f", "softmax", "--problem", "softmax", "--atol", "-1"], "tolerances cannot be negative"),
    ([ROOT / "problems" / "silu_bf16" / "kernel.py", "-f", "silu", "--problem", "silu_bf16"],
     "does not import neuronxcc.nki"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    res = invoke(*args, "--out", tmp_path / "o.py") if "--out" not in args else invoke(*args)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.output


def test_bad_input_under_json_is_one_json_object(tmp_path):
    res = invoke(SOFTMAX, "-f", "softmax", "--json", "--out", tmp_path / "o.py")
    assert res.exit_code == 2
    assert json.loads(res.stdout) == {"error": json.loads(res.stdout)["error"], "code": 2}
    assert "no inputs" in json.loads(res.stdout)["error"]
