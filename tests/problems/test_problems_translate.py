"""Translation from a reference (`autocomp problems new NAME --from-reference FILE`): the LLM writes the first
kernel and repairs it until it is correct in the simulator (autocomp.search.translate).

The model is scripted (tests/fakes/translation.py): its answers are read back from the prompts, so a kernel
only gets fixed when the verdict of the one before reached the next prompt. Kernels are judged by the real
evaluator (gate, sandbox, simulator), at the suite's silu_bf16 check shapes.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from autocomp.llm import Budget, LLMService
from autocomp.problem import Problem, ProblemError
from autocomp.search.translate import TranslationError, Translator
from autocomp.suite.reference_import import ReferenceImportError, create_from_reference
from tests.fakes.manual_person import Person, quick_polling
from tests.fakes.search import ScriptedClient
from tests.fakes.translation import (
    SILU_REFERENCE,
    correct_translator,
    hopeless_translator,
    silu_reference,
    silu_translator,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def silu(tmp_path_factory) -> Path:
    """The suite's silu reference at a smaller timing size (tests/fakes/translation.py, silu_reference)."""
    return silu_reference(tmp_path_factory.mktemp("silu-reference"))


@pytest.fixture(scope="module")
def evaluator():
    ev = Evaluator("sim", workers=1)
    yield ev
    ev.close()


def _llm(answer) -> tuple[LLMService, ScriptedClient]:
    client = ScriptedClient(answer)
    return LLMService("vllm:fake", {"vllm": client}, budget=Budget()), client


def test_a_suite_reference_is_translated_through_the_repair_loop(tmp_path, evaluator, silu):
    problem = create_from_reference("silu_t", tmp_path, silu)
    assert not problem.has_kernel and problem.spec.dialect == "v2" and problem.spec.check_shapes
    llm, client = _llm(silu_translator)
    events = []
    result = Translator(problem.root, llm, evaluator, on_event=lambda kind, data: events.append(kind)).run(5)

    assert result.status == "translated", result.message
    assert [a.status for a in result.attempts] == ["compile_error", "incorrect", "correct"]
    assert [a.phase for a in result.attempts] == ["translate", "repair", "repair"]
    assert events.count("attempt") == 3
    first, second, third = (r[-1]["content"] for r in client.requests)
    assert "def reference(x):" in first and "Entry function: `silu_t(x)`" in first
    assert "x [256, 2048] bfloat16" in first and "x [2048, 4096] bfloat16" in first  # check and timing shapes
    assert "relative L2 error <= 0.01" in first
    assert "nisa.dma_copy" in client.requests[0][0]["content"]  # the v2 API digest in the system message
    assert "## What went wrong: compile_error" in second and "exceeds the architecture limit" in second
    assert "## What went wrong: incorrect" in third and "Numerical error against the reference" in third
    assert "attempt 1 (translate): compile_error" in third  # every earlier attempt is listed

    attempts = problem.root / "translation" / "attempts"
    assert sorted(p.name for p in attempts.iterdir()) == ["001", "002", "003"]
    for d in attempts.iterdir():
        assert {"prompt.md", "response.md", "kernel.py", "attempt.json", "eval.json"} <= {p.name for p in d.iterdir()}
    final = Problem.load(problem.root)
    assert final.spec.origin == "translated"
    assert final.baseline_source == (attempts / "003" / "kernel.py").read_text()
    # Optimising it starts from that kernel as its baseline, like any problem's.
    assert evaluator.baseline(final).status == "correct"


def test_a_failed_translation_keeps_every_attempt_and_resumes_where_it_stopped(tmp_path, evaluator, silu):
    problem = create_from_reference("silu_r", tmp_path, silu)
    llm, _ = _llm(hopeless_translator)
    failed = Translator(problem.root, llm, evaluator).run(2)
    assert failed.status == "failed" and "after 2 attempt(s)" in failed.message
    assert [a.status for a in failed.attempts] == ["no_kernel", "no_kernel"]
    with pytest.raises(ProblemError, match="still being translated.*--resume"):
        Problem.load(problem.root)

    # Interrupted after the third answer arrived but before it was judged: resuming takes that answer.
    third = problem.root / "translation" / "attempts" / "003"
    third.mkdir()
    (third / "response.md").write_text(correct_translator([{"role": "user", "content":
                                                            "- Entry function: `silu_r(x)`"}]))
    llm, client = _llm(hopeless_translator)
    done = Translator(problem.root, llm, evaluator).run(3)
    assert done.status == "translated", done.message
    assert [a.number for a in done.attempts] == [1, 2, 3] and not client.requests  # nothing asked again
    assert "(no kernel in the previous answer)" in (third / "prompt.md").read_text()
    with pytest.raises(TranslationError, match="already has a kernel"):
        Translator(problem.root, llm, evaluator)


@pytest.mark.parametrize("text, match", [
    ("import numpy as np\n\ndef reference(x):\n    return x\n", r"ref\.py: no top-level function make_inputs"),
    ("import numpy as np\n\ndef make_inputs(rng):\n    return (rng.random((128, 64)).astype(np.float32),)\n",
     r"ref\.py: no top-level function reference"),
    ("import no_such_module_here\n\ndef make_inputs(rng):\n    pass\n\ndef reference(x):\n    return x\n",
     r"ref\.py(:1)?: importing reference\.py failed: ModuleNotFoundError"),
    ("def make_inputs(rng):\n    return (\n", r"ref\.py:2: syntax error"),
    ("import numpy as np\n\ndef make_inputs(rng):\n    return (rng.random((128, 64)).astype(np.float32),)\n\n"
     "def reference(x, y):\n    return x + y\n", r"ref\.py(:\d+)?: reference\(\*inputs\) failed: TypeError"),
    ("import numpy as np\n\ndef make_inputs(rng):\n    return [1, 2]\n\ndef reference(x):\n    return x\n",
     r"item 0 is int, not a numpy array"),
])
def test_a_bad_reference_is_refused_naming_the_file_and_leaves_nothing(tmp_path, text, match):
    ref = tmp_path / "ref.py"
    ref.write_text(text)
    with pytest.raises(ReferenceImportError, match=match):
        create_from_reference("bad", tmp_path / "problems", ref)
    assert not (tmp_path / "problems" / "bad").exists()


@pytest.mark.skipif(HAS_TORCH, reason="checks the message shown when torch is missing")
def test_a_pytorch_reference_without_torch_says_what_to_install(tmp_path):
    ref = tmp_path / "ref.py"
    ref.write_text("import torch\n\ndef make_inputs(rng):\n    return (torch.ones(128, 64),)\n\n"
                   "def reference(x):\n    return torch.relu(x)\n")
    with pytest.raises(ReferenceImportError, match="PyTorch reference.*torch is not installed"):
        create_from_reference("t", tmp_path, ref)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_a_pytorch_reference_is_wrapped_to_numpy_arrays(tmp_path):
    import numpy as np

    ref = tmp_path / "ref.py"
    ref.write_text("import torch\n\ndef make_inputs(rng):\n"
                   "    return (torch.from_numpy(rng.standard_normal((128, 64)).astype('float32')).bfloat16(),)\n\n"
                   "def reference(x):\n    return torch.nn.functional.silu(x)\n")
    problem = create_from_reference("t", tmp_path, ref)
    (x,) = problem.inputs(0)
    assert isinstance(x, np.ndarray) and str(x.dtype) == "bfloat16"
    (out,) = problem.reference_outputs(0)
    assert out.dtype == np.float64
    expected = x.astype(np.float64) / (1 + np.exp(-x.astype(np.float64)))
    assert np.allclose(out, expected)


def test_cli_translates_with_the_manual_provider_then_optimizes(tmp_path, runner, cli, monkeypatch, silu):
    from autocomp.search import runner as search_runner
    from autocomp.search.runner import RunResult

    optimized = []

    def run_optimization(problem, config, **kwargs):  # the search itself is tested in tests/search
        optimized.append((Path(problem), config.llm.models))
        return RunResult(run_id="r", run_dir=tmp_path, problem="silu_m", agent="llm", status="finished",
                         stop_reason="stub")

    monkeypatch.setattr(search_runner, "run_optimization", run_optimization)
    quick_polling(monkeypatch)
    workdir = tmp_path / "problems" / "silu_m" / "translation" / "manual"
    person = Person(tmp_path, silu_translator, half_saved_s=0.1, directory=workdir)
    person.start()
    try:
        result = runner.invoke(cli, ["problems", "new", "silu_m", "--dir", str(tmp_path / "problems"),
                                     "--from-reference", str(silu), "--model", "manual",
                                     "--max-attempts", "4", "--then-optimize"])
    finally:
        person.stop()
    assert result.exit_code == 0, result.output
    assert "attempt 1 (translate): compile_error" in result.output
    assert "translated: attempt 3 is correct" in result.output
    assert person.answered == [1, 2, 3]
    assert optimized == [(tmp_path / "problems" / "silu_m", ["manual:chat"])]
    assert Problem.load(tmp_path / "problems" / "silu_m").spec.origin == "translated"
    saved = json.loads((tmp_path / "problems" / "silu_m" / "translation" / "result.json").read_text())
    assert saved == {"status": "translated", "attempt": 3, "attempts": 3}


def test_cli_refuses_translation_options_without_a_reference_and_a_reference_without_an_llm(tmp_path, runner, cli,
                                                                                           monkeypatch):
    for key in [k for k in os.environ if k.endswith("_API_KEY")]:
        monkeypatch.delenv(key)
    result = runner.invoke(cli, ["problems", "new", "x", "--dir", str(tmp_path), "--max-attempts", "3"])
    assert result.exit_code != 0 and "only with --from-reference" in result.output
    result = runner.invoke(cli, ["problems", "new", "x", "--dir", str(tmp_path), "--from-reference",
                                 str(SILU_REFERENCE)])
    assert result.exit_code != 0 and "needs an LLM" in result.output
    assert not (tmp_path / "x").exists()
    result = runner.invoke(cli, ["problems", "new", "x", "--dir", str(tmp_path), "--resume", "--model", "manual"])
    assert result.exit_code != 0 and "no translation to resume" in result.output


def test_each_attempt_is_judged_as_untrusted_code(tmp_path, evaluator, silu):
    """The gate refuses what it refuses for any candidate, and a kernel that writes its inputs is refused although
    there is no baseline to compare with."""
    from tests.fakes.translation import rule_breaking_translator

    problem = create_from_reference("silu_g", tmp_path, silu)
    llm, _ = _llm(rule_breaking_translator)
    result = Translator(problem.root, llm, evaluator).run(4)
    assert [a.status for a in result.attempts] == ["rejected", "rejected", "correct"], result.attempts
    assert "os" in result.attempts[0].reason
    assert "input 0 was modified" in result.attempts[1].reason and result.attempts[1].latency_us is None


def test_cli_failed_translation_says_how_to_continue_and_resume_finishes_it(tmp_path, runner, cli, silu):
    from tests.fakes.llm_server import FakeLLMServer, Reply, openai_ok

    answer = [hopeless_translator]

    def handler(req):
        return Reply(200, openai_ok(answer[0](req.body["messages"]), model="fake"))

    problems = tmp_path / "problems"
    with FakeLLMServer(handler) as server:
        args = ["problems", "new", "silu_f", "--dir", str(problems), "--model", "vllm:fake",
                "--llm-base-url", server.url + "/v1", "--max-attempts", "1"]
        failed = runner.invoke(cli, [*args, "--from-reference", str(silu)])
        assert failed.exit_code == 1, failed.output
        assert "no correct kernel yet" in failed.output and "--resume" in failed.output
        answer[0] = correct_translator
        done = runner.invoke(cli, [*args, "--resume"])
        assert len(server.requests) == 2
    assert done.exit_code == 0, done.output
    assert "attempt 2 (repair): correct" in done.output and "LLM: 1 call(s)" in done.output
    assert Problem.load(problems / "silu_f").spec.origin == "translated"
