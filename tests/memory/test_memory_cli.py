"""`autocomp memory list|show|export|import|clear` and optimize's --memory / --no-memory."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.memory import MemoryStore
from tests.fakes.search import write_problem
from tests.memory.test_memory_store import entry


def memory(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["memory", *args], input=input, catch_exceptions=False)


def filled(path):
    store = MemoryStore(path)
    store.add([entry("run-a#3"), entry("run-b#7", evidence="hw", problem="gemm_bf16", family="matmul", gain=1.2)])
    return store


def test_list_and_show_as_text_and_json(memory_file):
    filled(memory_file)
    res = memory("list")
    assert res.exit_code == 0, res.output
    assert "silu_bf16" in res.output and "gemm_bf16" in res.output and "1.80x" in res.output
    assert f"2 entries in {memory_file}" in res.output.replace("\n", "")
    listed = json.loads(memory("list", "--json", "--evidence", "hw").stdout)
    assert [(e["id"], e["evidence"], e["problem"]) for e in listed] == [(2, "hw", "gemm_bf16")]
    shown = memory("show", "1")
    assert "[memory #1] improvement, from run run-a (problem silu_bf16, candidate #3 from #1" in shown.output
    assert "> [tiling] Use 512 columns." in shown.output
    assert json.loads(memory("show", "#2", "--json").stdout)["key"] == "run-b#7"


def test_export_import_and_clear(tmp_path, memory_file):
    filled(memory_file)
    out = tmp_path / "mem.json"
    assert "wrote 2 entries" in memory("export", str(out)).output
    other = tmp_path / "other.sqlite"
    assert "added 2 entries" in memory("import", str(out), "--memory", str(other)).output
    assert "added 0 entries" in memory("import", str(out), "--memory", str(other)).output
    assert "(2 already there)" in memory("import", str(out), "--memory", str(other)).output.replace("\n", "")
    refused = memory("clear", "--memory", str(other), input="n\n")
    assert refused.exit_code == 1 and len(MemoryStore(other).entries()) == 2
    assert "deleted 1 entry" in memory("clear", "--memory", str(other), "--evidence", "hw", "--yes").output
    assert "deleted 1 entry" in memory("clear", "--memory", str(other), input="y\n").output
    assert MemoryStore(other).entries() == []


def test_bad_input_is_one_line_naming_the_fix(tmp_path, memory_file, monkeypatch):
    filled(memory_file)
    for args, message in [(["show", "abc"], "not an entry id"), (["show", "99"], "no entry 99"),
                          (["list", "--evidence", "fpga"], "use sim"),
                          (["import", str(tmp_path / "missing.json")], "cannot read it"),
                          (["list", "--memory", str(tmp_path)], "is a directory")]:
        res = memory(*args)
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, (args, res.output)
    assert json.loads(memory("show", "99", "--json").stdout)["error"].startswith("no entry 99")
    monkeypatch.setenv("AUTOCOMP_MEMORY", "off")
    res = memory("list")
    assert res.exit_code == 2 and "pass --memory PATH" in res.output


def test_optimize_refuses_memory_and_no_memory_together(tmp_path):
    problem = write_problem(tmp_path / "problems")
    res = CliRunner().invoke(app, ["optimize", str(problem), "--memory", str(tmp_path / "m.sqlite"), "--no-memory",
                                   "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2 and "contradict" in res.output and not (tmp_path / "runs").exists()


def test_optimize_memory_path_from_the_command_line(tmp_path, memory_file):
    problem = write_problem(tmp_path / "problems")
    given = tmp_path / "given.sqlite"
    res = CliRunner().invoke(app, ["optimize", str(problem), "--agent", "knobs", "--iterations", "1", "--workers",
                                   "2", "--memory", str(given), "--runs-dir", str(tmp_path / "runs"), "--json"])
    assert res.exit_code == 0, res.output
    assert MemoryStore(given).entries() and not memory_file.exists()
