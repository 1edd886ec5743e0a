"""The ``manual`` provider: a person pastes each prompt into any chat UI and pastes the answer back.

Each prompt is written to ``<dir>/<n>.prompt.md``, headed with what it is for
(phase, iteration, parent and candidate ids, set by the caller with
:func:`prompt_context`) and how to answer. The answer is read from
``<dir>/<n>.response.md`` once that file holds a line with only ``EOF`` on it (so a
half-saved file is never taken): everything before that line is the answer. With
``stdin`` the prompt is printed and the answer read from the stream up to the same
line, then saved as the response file.

A prompt asked again (a resumed run) gets the number it had: the prompt files say
which request they are (a digest of the messages and the caller's slot), so a
resumed run waits on the same file, or takes the answer already saved there.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from autocomp.llm.errors import ManualResponseTimeout, ResponseTooLargeError
from autocomp.llm.limits import max_answer_chars
from autocomp.llm.types import Completion, Message, estimate_input_tokens, estimate_tokens

END_OF_RESPONSE = "EOF"
_PROMPT_FILE = re.compile(r"^(\d+)\.prompt\.md$")
_REQUEST_LINE = re.compile(r"^<!-- autocomp request ([0-9a-f]{24}) -->$", re.MULTILINE)
_CONTEXT: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("autocomp_manual_context",
                                                                                   default=None)
# Context fields shown first, in this order; others follow as given.
_CONTEXT_ORDER = ("phase", "iteration", "parent", "candidate", "plan", "sample", "round", "slot")


@contextmanager
def prompt_context(fields: Mapping[str, Any]) -> Iterator[None]:
    """What the prompts asked inside this block are for (phase, iteration, parent, ...), for their headers.

    ``slot`` also tells apart requests whose messages are the same (two samples of one prompt).
    """
    token = _CONTEXT.set(dict(fields))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def split_answer(text: str) -> str | None:
    """The answer in ``text``: everything before the first line holding only EOF; None while there is none."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == END_OF_RESPONSE:
            return "".join(lines[:i])
    return None


class ManualClient:
    """An ``LLMClient`` backed by a person. Costs $0; token counts are estimates."""

    provider = "manual"

    def __init__(
        self,
        directory: str | Path,
        *,
        timeout_s: float = 3600.0,
        poll_interval_s: float = 0.25,
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
        self._seen: dict[str, int] = {}  # identical requests without a slot, counted so each gets its own file
        self._known: dict[str, int] = {}  # request id -> prompt number, from the files already here
        used = []
        for path in self.directory.iterdir():
            m = _PROMPT_FILE.match(path.name)
            if not m:
                continue
            used.append(int(m.group(1)))
            found = _REQUEST_LINE.search(path.read_text(encoding="utf-8", errors="replace")[:4096])
            if found:
                self._known.setdefault(found.group(1), int(m.group(1)))
        # New prompts are numbered after the earlier ones, so a resumed run never overwrites them.
        self._next = max(used, default=0) + 1
        self._gave_up = False

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
        """Write the prompt file (or find the one written for this request before), then wait for the answer."""
        context = dict(_CONTEXT.get() or {})
        if self._gave_up:
            # One unanswered prompt stops the run; no further prompt files appear meanwhile.
            raise ManualResponseTimeout("an earlier manual prompt went unanswered", provider=self.provider,
                                        model=model)
        request = self._request_id(messages, context)
        with self._lock:
            n = self._known.get(request)
            fresh = n is None
            if fresh:
                n = self._next
                self._next += 1
                self._known[request] = n
        prompt_path = self.directory / f"{n}.prompt.md"
        response_path = self.directory / f"{n}.response.md"
        if fresh or not prompt_path.is_file():
            text = render_prompt(messages, model=model, max_tokens=max_tokens, context=context, request=request,
                                 number=n, response_name=response_path.name)
            _atomic_write(prompt_path, text)
        start = self._clock()
        answer = self._saved_answer(response_path, model, max_tokens)
        if answer is None and self._stdin is not None:
            answer = self._ask_stdin(prompt_path, response_path)
        elif answer is None:
            self._notify.write(f"Prompt {prompt_path} ({_describe(context)}): paste the answer into "
                               f"{response_path} and end it with a line holding only {END_OF_RESPONSE}\n")
            self._notify.flush()
            answer = self._wait_for(response_path, model, max_tokens)
        if stop:
            cut = [answer.find(s) for s in stop if s in answer]
            answer = answer[: min(cut)] if cut else answer
        return Completion(
            text=answer,
            finish_reason="stop",
            input_tokens=estimate_input_tokens(messages),
            output_tokens=estimate_tokens(answer),
            latency_s=self._clock() - start,
            provider=self.provider,
            model=model,
        )

    def _request_id(self, messages: Sequence[Message], context: Mapping[str, Any]) -> str:
        """The same for the same request in every run: the messages, and the caller's slot (else a count)."""
        body = json.dumps([dict(m) for m in messages], sort_keys=True)
        slot = context.get("slot")
        if slot is None:
            with self._lock:
                base = hashlib.sha256(body.encode()).hexdigest()
                self._seen[base] = self._seen.get(base, 0) + 1
                slot = f"#{self._seen[base]}"
        return hashlib.sha256(f"{slot}\n{body}".encode()).hexdigest()[:24]

    def _saved_answer(self, path: Path, model: str, max_tokens: int) -> str | None:
        """The complete answer already in ``path``, or None; a file too large to be an answer is refused."""
        # UTF-8 takes at most 4 bytes a character; a larger file cannot be an answer within max_tokens.
        limit = 4 * max_answer_chars(max_tokens)
        size = path.stat().st_size if path.exists() else 0
        if size > limit:
            raise ResponseTooLargeError(
                f"{path} holds {size:,} bytes, more than an answer of max_tokens={max_tokens:,} can "
                f"({limit:,}); it was not read. Paste only the model's reply.",
                provider=self.provider,
                model=model,
            )
        if size == 0:
            return None
        return split_answer(path.read_text(encoding="utf-8", errors="replace"))

    def _ask_stdin(self, prompt_path: Path, response_path: Path) -> str:
        assert self._stdin is not None
        self._notify.write(prompt_path.read_text(encoding="utf-8"))
        self._notify.write(f"\n(prompt saved as {prompt_path}) Paste the model's answer, then a line holding only "
                           f"{END_OF_RESPONSE}:\n")
        self._notify.flush()
        lines = []
        for line in self._stdin:
            if line.strip() == END_OF_RESPONSE:
                break
            lines.append(line)
        else:  # the stream ended without the marker: a partial answer is not taken
            raise ManualResponseTimeout(f"stdin ended before a line holding only {END_OF_RESPONSE}; the answer to "
                                        f"{prompt_path} was not taken. Continue the run with --resume.",
                                        provider=self.provider)
        text = "".join(lines)
        _atomic_write(response_path, text + ("" if text.endswith("\n") or not text else "\n") + END_OF_RESPONSE + "\n")
        return text

    def _wait_for(self, path: Path, model: str, max_tokens: int) -> str:
        deadline = self._clock() + self.timeout_s
        while True:
            answer = self._saved_answer(path, model, max_tokens)
            if answer is not None:
                return answer
            if self._clock() >= deadline:
                self._gave_up = True
                raise ManualResponseTimeout(
                    f"No answer in {path} after {self.timeout_s:g}s. Paste the model's reply into that file, end it "
                    f"with a line holding only {END_OF_RESPONSE}, and continue the run with --resume (it waits on "
                    "the same file).",
                    provider=self.provider,
                    model=model,
                )
            self._sleep(self.poll_interval_s)


def _describe(context: Mapping[str, Any]) -> str:
    keys = [k for k in _CONTEXT_ORDER if k in context] + [k for k in context if k not in _CONTEXT_ORDER]
    return ", ".join(f"{k} {context[k]}" for k in keys) or "no context"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def render_prompt(messages: Sequence[Message], *, model: str, max_tokens: int,
                  context: Mapping[str, Any] | None = None, request: str = "", number: int | None = None,
                  response_name: str = "the response file") -> str:
    """The markdown a person copies into a chat UI: a header saying what it is for, then one section per message."""
    head = [f"<!-- autocomp request {request} -->"] if request else []
    head.append(f"# autocomp prompt{f' {number}' if number is not None else ''}: {_describe(context or {})}")
    head.append(f"<!-- Paste the model's whole reply into {response_name} and end it with a line holding only "
                f"{END_OF_RESPONSE}. Model hint {model!r}; answer in at most ~{max_tokens} tokens. -->")
    parts = ["\n".join(head)]
    for m in messages:
        parts.append(f"## {m['role']}\n\n{m['content']}")
    return "\n\n".join(parts) + "\n"
