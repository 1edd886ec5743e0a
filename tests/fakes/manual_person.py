"""A stand-in for the person answering the manual provider's prompt files (tests of `--model manual`).

It watches ``<out>/<run>/manual/`` (or the ``directory`` it is given), reads each prompt file back into chat
messages, and writes the answer of
a fake model (a pure function of the prompt) into the response file: first half of it without the end
marker (a half-saved file, left until the run has read it), then the whole answer ending with a line
holding only EOF. ``hold`` pauses it before a given prompt number until :meth:`release`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import autocomp.llm.manual as manual
from autocomp.llm.manual import ManualClient

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
        self._until_read(response)
        response.write_text(f"{text}\nEOF\n", encoding="utf-8")
        self.answered.append(n)

    def _until_read(self, path: Path) -> None:
        """Leave the half-saved ``path`` until the run has read it: its access time passes its modification time
        (relatime, the usual mount option, updates it on the first read after a write), however slow the machine.
        Where access times are not kept (noatime), for half_saved_s, several of the run's polls. A run that never
        reads it (killed, and not resumed) gets the whole answer after UNREAD_S all the same."""
        if self.half_saved_s <= 0:
            return
        if not _access_times_kept(path.parent):
            time.sleep(self.half_saved_s)
            return
        end = time.monotonic() + UNREAD_S
        while not self._done.is_set() and time.monotonic() < end:
            st = path.stat()
            if st.st_atime_ns > st.st_mtime_ns:
                return
            time.sleep(0.01)


class QuickPollingClient(ManualClient):
    """The manual provider looking for answers every POLL_S instead of every 250 ms (a pace for a person at a
    keyboard; the person here is a thread, and a shorter poll only reads a half-saved answer more often)."""

    def __init__(self, directory, **kwargs):
        kwargs.setdefault("poll_interval_s", POLL_S)
        super().__init__(directory, **kwargs)


POLL_S = 0.02


def quick_polling(monkeypatch=None) -> None:
    """Runs started from here on build QuickPollingClient for the manual provider: until the test ends with
    ``monkeypatch``, else for the rest of this process (a subprocess's)."""
    if monkeypatch is not None:
        monkeypatch.setattr(manual, "ManualClient", QuickPollingClient)
    else:
        manual.ManualClient = QuickPollingClient


UNREAD_S = 30.0
_ATIME_PROBES: dict[Path, bool] = {}


def _access_times_kept(directory: Path) -> bool:
    """Whether reading a file just written in ``directory`` moves its access time past its modification time."""
    if directory not in _ATIME_PROBES:
        probe = directory / ".atime-probe"
        probe.write_text("probe")
        time.sleep(0.05)  # past the file system's timestamp granularity (a clock tick)
        probe.read_text()
        st = probe.stat()
        _ATIME_PROBES[directory] = st.st_atime_ns > st.st_mtime_ns
        os.unlink(probe)
    return _ATIME_PROBES[directory]
