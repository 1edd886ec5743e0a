"""The ``manual`` provider: a person pastes each prompt into any chat UI and pastes the answer back.

Each prompt is written to ``<dir>/<n>.prompt.md``; the answer is read from
``<dir>/<n>.response.md`` (polled until a timeout) or, when ``stdin`` is given,
from that stream up to a line holding only ``EOF``.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from autocomp.llm.errors import ManualResponseTimeout
from autocomp.llm.types import Completion, Message, estimate_input_tokens, estimate_tokens

END_OF_RESPONSE = "EOF"
_PROMPT_FILE = re.compile(r"^(\d+)\.prompt\.md$")


class ManualClient:
    """An ``LLMClient`` backed by a person. Costs $0; token counts are estimates."""

    provider = "manual"

    def __init__(
        self,
        directory: str | Path,
        *,
        timeout_s: float = 3600.0,
        poll_interval_s: float = 1.0,
        stdin: TextIO | None = None,
        notify: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self._stdin = stdin
        self._notify = notify if notify is not None else sys.stderr
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        # Continue numbering after earlier prompts so a resumed run never overwrites them.
        used = [int(m.group(1)) for p in self.directory.iterdir() if (m := _PROMPT_FILE.match(p.name))]
        self._next = max(used, default=0) + 1

    def __repr__(self) -> str:
        return f"ManualClient(directory={str(self.directory)!r})"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int,
        stop: Sequence[str] | None,
    ) -> Completion:
        """Write the prompt file, then wait for the person's answer."""
        with self._lock:
            n = self._next
            self._next += 1
        prompt_path = self.directory / f"{n}.prompt.md"
        response_path = self.directory / f"{n}.response.md"
        prompt_path.write_text(render_prompt(messages, model=model, max_tokens=max_tokens), encoding="utf-8")
        start = self._clock()
        if self._stdin is not None:
            self._notify.write(
                f"Prompt written to {prompt_path}. Paste the model's answer, then a line "
                f"containing only {END_OF_RESPONSE}:\n"
            )
            self._notify.flush()
            text = self._read_stdin()
            response_path.write_text(text, encoding="utf-8")
        else:
            self._notify.write(f"Prompt written to {prompt_path}; waiting for {response_path}\n")
            self._notify.flush()
            text = self._wait_for(response_path, model)
        if stop:
            cut = [text.find(s) for s in stop if s in text]
            text = text[: min(cut)] if cut else text
        return Completion(
            text=text,
            finish_reason="stop",
            input_tokens=estimate_input_tokens(messages),
            output_tokens=estimate_tokens(text),
            latency_s=self._clock() - start,
            provider=self.provider,
            model=model,
        )

    def _read_stdin(self) -> str:
        assert self._stdin is not None
        lines = []
        for line in self._stdin:
            if line.rstrip("\r\n") == END_OF_RESPONSE:
                break
            lines.append(line)
        return "".join(lines)

    def _wait_for(self, path: Path, model: str) -> str:
        deadline = self._clock() + self.timeout_s
        while True:
            # An empty file is an editor's placeholder, not an answer.
            if path.exists() and path.stat().st_size > 0:
                return path.read_text(encoding="utf-8")
            if self._clock() >= deadline:
                raise ManualResponseTimeout(
                    f"No answer in {path} after {self.timeout_s:g}s. Paste the model's reply into that file "
                    "and resume the run, or raise the manual timeout.",
                    provider=self.provider,
                    model=model,
                )
            self._sleep(self.poll_interval_s)


def render_prompt(messages: Sequence[Message], *, model: str, max_tokens: int) -> str:
    """The markdown a person copies into a chat UI: one section per message."""
    parts = [f"<!-- autocomp manual prompt: model hint {model!r}, answer in at most ~{max_tokens} tokens -->"]
    for m in messages:
        parts.append(f"## {m['role']}\n\n{m['content']}")
    return "\n\n".join(parts) + "\n"
