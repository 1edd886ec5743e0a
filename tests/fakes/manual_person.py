"""A stand-in for the person answering the manual provider's prompt files (tests of `--model manual`).

It watches ``<out>/<run>/manual/`` (or the ``directory`` it is given), reads each prompt file back into chat
messages, and writes the answer of
a fake model (a pure function of the prompt) into the response file: first half of it without the end
marker (a half-saved file, left long enough for the run to see it), then the whole answer ending with a line
holding only EOF. ``hold`` pauses it before a given prompt number until :meth:`release`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

HALF_SAVED = "HALF-SAVED"
_PROMPT = re.compile(r"^(\d+)\.prompt\.md$")


def manual_dir(out: Path) -> Path | None:
    runs = [p.parent for p in out.glob("*/run.sqlite") if not p.parent.name.startswith(".")]
    return runs[0] / "manual" if len(runs) == 1 else None


def read_prompt(path: Path) -> list[dict]:
    """The chat messages a prompt file shows, as ``autocomp.llm.manual.render_prompt`` wrote them."""
    text = path.read_text(encoding="utf-8")
    body = text[text.index("## system\n\n") + len("## system\n\n"):]
    system, user = body.split("\n\n## user\n\n", 1)
    return [{"role": "system", "content": system}, {"role": "user", "content": user[:-1]}]


def prompt_numbers(directory: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _PROMPT.match(p.name)))


def requests(directory: Path) -> dict[int, str]:
    """Prompt number -> the request line heading it (which request the file is for)."""
    return {n: (directory / f"{n}.prompt.md").read_text().splitlines()[0] for n in prompt_numbers(directory)}


class Person(threading.Thread):
    def __init__(self, out: Path, answer: Callable[[list[dict]], str], *, half_saved_s: float = 0.6,
                 hold: int | None = None, directory: Path | None = None):
        super().__init__(daemon=True)
        self.out = out
        self.directory = directory  # the prompt files' directory itself, when they are not in a run's manual/
        self.answer = answer
        self.half_saved_s = half_saved_s
        self.hold = hold
        self.answered: list[int] = []
        self._done = threading.Event()
        self._lock = threading.Lock()

    def release(self, hold: int | None = None) -> None:
        with self._lock:
            self.hold = hold

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=30)

    def run(self) -> None:
        while not self._done.is_set():
            directory = self.directory or manual_dir(self.out)
            pending = []
            if directory is not None and directory.is_dir():
                pending = [n for n in prompt_numbers(directory) if not (directory / f"{n}.response.md").exists()]
            with self._lock:
                hold = self.hold
            if pending and (hold is None or pending[0] < hold):
                self._respond(directory, pending[0])
            else:
                time.sleep(0.05)

    def _respond(self, directory: Path, n: int) -> None:
        text = self.answer(read_prompt(directory / f"{n}.prompt.md"))
        response = directory / f"{n}.response.md"
        response.write_text(f"{HALF_SAVED}\n{text[:len(text) // 2]}", encoding="utf-8")
        time.sleep(self.half_saved_s)  # several of the run's polls see the half-saved file
        response.write_text(f"{text}\nEOF\n", encoding="utf-8")
        self.answered.append(n)
