"""The manual provider: prompt files out, response files (or stdin) in."""

from __future__ import annotations

import io

import pytest

from autocomp.llm import LLMService, ManualResponseTimeout
from autocomp.llm.manual import ManualClient

MSGS = [{"role": "system", "content": "You are an NKI expert."}, {"role": "user", "content": "Tile this."}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_waits_for_the_response_file(tmp_path, retry):
    clock = FakeClock()
    polls = []

    def person(seconds: float) -> None:  # answers on the second poll
        polls.append(seconds)
        clock.now += seconds
        if len(polls) == 2:
            (tmp_path / "1.response.md").write_text("Use nl.tile(128).\nEND", encoding="utf-8")

    client = ManualClient(tmp_path, poll_interval_s=0.5, sleep=person, clock=clock, notify=io.StringIO())
    out = LLMService("manual:chat", {"manual": client}, retry=retry).complete(MSGS, phase="plan", stop=["END"])
    prompt = (tmp_path / "1.prompt.md").read_text()
    assert "## system\n\nYou are an NKI expert." in prompt and "## user\n\nTile this." in prompt
    assert out.text == "Use nl.tile(128).\n" and out.cost_usd == 0.0 and out.provider == "manual"
    assert polls == [0.5, 0.5] and out.latency_s == 1.0


def test_numbering_continues_after_existing_prompts(tmp_path):
    (tmp_path / "4.prompt.md").write_text("old")
    (tmp_path / "5.response.md").write_text("answer five")
    (tmp_path / "5.prompt.md").write_text("old")
    (tmp_path / "6.response.md").write_text("answer six")
    client = ManualClient(tmp_path, sleep=lambda s: None, notify=io.StringIO())
    out = client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    assert out.text == "answer six" and (tmp_path / "6.prompt.md").exists()


def test_times_out_with_advice(tmp_path):
    clock = FakeClock()

    def tick(seconds: float) -> None:
        clock.now += seconds

    client = ManualClient(tmp_path, timeout_s=3, poll_interval_s=1, sleep=tick, clock=clock, notify=io.StringIO())
    with pytest.raises(ManualResponseTimeout, match=r"1\.response\.md after 3s"):
        client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)


def test_reads_the_answer_from_stdin(tmp_path):
    notify = io.StringIO()
    stdin = io.StringIO("line one\nline two\nEOF\nnot part of it\n")
    client = ManualClient(tmp_path, stdin=stdin, notify=notify)
    out = client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    assert out.text == "line one\nline two\n"
    assert (tmp_path / "1.response.md").read_text() == out.text
    assert "1.prompt.md" in notify.getvalue() and out.output_tokens == 5
