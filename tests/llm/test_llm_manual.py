"""The manual provider: prompt files out, response files (or stdin) in, an answer only once it is complete."""

from __future__ import annotations

import io

import pytest

from autocomp.llm import LLMService, ManualResponseTimeout
from autocomp.llm.manual import ManualClient, prompt_context, split_answer

MSGS = [{"role": "system", "content": "You are an NKI expert."}, {"role": "user", "content": "Tile this."}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _ask(client, messages=MSGS, **context):
    with prompt_context(context):
        return client.complete(messages, model="chat", temperature=None, max_tokens=100, stop=None)


def test_waits_for_the_end_marker_so_a_half_saved_file_is_never_taken(tmp_path, retry):
    clock = FakeClock()
    polls = []

    def person(seconds: float) -> None:  # saves half an answer, then the whole one with its end marker
        polls.append(seconds)
        clock.now += seconds
        if len(polls) == 1:
            (tmp_path / "1.response.md").write_text("Use nl.tile(", encoding="utf-8")
        if len(polls) == 3:
            (tmp_path / "1.response.md").write_text("Use nl.tile(128).\nEND\nEOF\nnot part of it", encoding="utf-8")

    client = ManualClient(tmp_path, poll_interval_s=0.5, sleep=person, clock=clock, notify=io.StringIO())
    out = LLMService("manual:chat", {"manual": client}, retry=retry).complete(MSGS, phase="plan", stop=["END"])
    prompt = (tmp_path / "1.prompt.md").read_text()
    assert "## system\n\nYou are an NKI expert." in prompt and "## user\n\nTile this." in prompt
    assert "end it with a line holding only EOF" in prompt
    assert out.text == "Use nl.tile(128).\n" and out.cost_usd == 0.0 and out.provider == "manual"
    assert polls == [0.5, 0.5, 0.5] and out.latency_s == 1.5


def test_each_prompt_file_is_headed_with_what_it_is_for(tmp_path):
    (tmp_path / "1.response.md").write_text("ok\nEOF\n")
    _ask(ManualClient(tmp_path, notify=io.StringIO()), phase="repair", iteration=2, parent=5, candidate=9,
         round="1 of 1", slot="2:abc:p0:i0:r0")
    lines = (tmp_path / "1.prompt.md").read_text().splitlines()
    assert lines[0].startswith("<!-- autocomp request ")
    assert lines[1] == ("# autocomp prompt 1: phase repair, iteration 2, parent 5, candidate 9, round 1 of 1, "
                        "slot 2:abc:p0:i0:r0")
    assert "1.response.md" in lines[2]


def test_a_request_asked_again_waits_on_its_own_file_or_takes_its_saved_answer(tmp_path):
    first = ManualClient(tmp_path, notify=io.StringIO())
    (tmp_path / "1.response.md").write_text("plan one\nEOF\n")
    assert _ask(first, slot="a").text == "plan one\n"
    (tmp_path / "2.response.md").write_text("plan two\nEOF\n")
    assert _ask(first, slot="b").text == "plan two\n"  # same messages, another slot: its own file
    written = (tmp_path / "2.prompt.md").stat().st_mtime_ns
    # A resumed run (a new client) asking slot b again takes the saved answer; slot c gets the next number.
    again = ManualClient(tmp_path, notify=io.StringIO())
    assert _ask(again, slot="b").text == "plan two\n"
    assert (tmp_path / "2.prompt.md").stat().st_mtime_ns == written and not (tmp_path / "3.prompt.md").exists()
    (tmp_path / "3.response.md").write_text("plan three\nEOF\n")
    assert _ask(again, slot="c").text == "plan three\n"


def test_prompts_without_a_slot_are_told_apart_by_how_often_they_were_asked(tmp_path):
    client = ManualClient(tmp_path, notify=io.StringIO())
    (tmp_path / "1.response.md").write_text("first\nEOF\n")
    (tmp_path / "2.response.md").write_text("second\nEOF\n")
    assert [_ask(client).text, _ask(client).text] == ["first\n", "second\n"]


def test_numbering_continues_after_existing_prompts(tmp_path):
    (tmp_path / "4.prompt.md").write_text("old")
    (tmp_path / "5.prompt.md").write_text("old")
    (tmp_path / "6.response.md").write_text("answer six\nEOF\n")
    client = ManualClient(tmp_path, sleep=lambda s: None, notify=io.StringIO())
    out = client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    assert out.text == "answer six\n" and (tmp_path / "6.prompt.md").exists()
    assert (tmp_path / "4.prompt.md").read_text() == "old"


def test_times_out_with_advice_and_asks_nothing_more(tmp_path):
    clock = FakeClock()

    def tick(seconds: float) -> None:
        clock.now += seconds

    client = ManualClient(tmp_path, timeout_s=3, poll_interval_s=1, sleep=tick, clock=clock, notify=io.StringIO())
    (tmp_path / "1.response.md").write_text("an answer without its end marker")
    with pytest.raises(ManualResponseTimeout, match=r"1\.response\.md after 3s.*only EOF.*--resume"):
        client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    with pytest.raises(ManualResponseTimeout, match="went unanswered"):
        _ask(client, slot="next")
    assert not (tmp_path / "2.prompt.md").exists()


def test_reads_the_answer_from_stdin_after_printing_the_prompt(tmp_path):
    notify = io.StringIO()
    stdin = io.StringIO("line one\nline two\nEOF\nnot part of it\n")
    client = ManualClient(tmp_path, stdin=stdin, notify=notify)
    out = client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    assert out.text == "line one\nline two\n"
    assert (tmp_path / "1.response.md").read_text() == "line one\nline two\nEOF\n"
    shown = notify.getvalue()
    assert "## user\n\nTile this." in shown and "1.prompt.md" in shown and out.output_tokens == 5


def test_stdin_that_ends_before_the_marker_is_not_an_answer(tmp_path):
    client = ManualClient(tmp_path, stdin=io.StringIO("half an ans"), notify=io.StringIO())
    with pytest.raises(ManualResponseTimeout, match="stdin ended before a line holding only EOF"):
        client.complete(MSGS, model="chat", temperature=None, max_tokens=10, stop=None)
    assert not (tmp_path / "1.response.md").exists()


def test_the_end_marker_is_a_line_of_its_own():
    assert split_answer("x = 1  # EOF here\n") is None
    assert split_answer("a\n  EOF  \nb") == "a\n" and split_answer("EOF\n") == ""
