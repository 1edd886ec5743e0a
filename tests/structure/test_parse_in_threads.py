"""Every parse of Python source in autocomp goes through autocomp.pyparse (one lock): CPython 3.11 before
3.11.9 fails concurrent ast.parse calls with "AST constructor recursion depth mismatch", and autocomp parses
from several threads at once (evaluations, knob rewriting, LLM answer extraction)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from autocomp.pyparse import parse_python

AUTOCOMP = Path(__file__).resolve().parents[2] / "autocomp"
FAKES = Path(__file__).resolve().parents[1] / "fakes"  # fakes run in evaluation threads too
RAW_PARSE = re.compile(r"\bast\.parse\(|compile\([^)]*PyCF_ONLY_AST")


def test_no_module_parses_without_the_lock():
    files = sorted(AUTOCOMP.rglob("*.py")) + sorted(FAKES.rglob("*.py"))
    offenders = [f"{p.relative_to(AUTOCOMP.parent)}:{n}" for p in files
                 if p.name != "pyparse.py"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if RAW_PARSE.search(line)]
    assert offenders == [], "parse through autocomp.pyparse.parse_python: " + ", ".join(offenders)


def test_threads_parse_deeply_nested_sources_at_once():
    source = "x = " + "(" * 60 + "1" + ")" * 60 + "\n" + "def f():\n    return [i for i in range(3)]\n" * 50
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(40):
                parse_python(source)
        except BaseException as e:  # noqa: BLE001 - any failure is the finding
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
