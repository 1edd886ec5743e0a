"""Atomic file writes, the events log, and config.toml without secrets."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from autocomp.store import RunReader, RunStore
from autocomp.store import files as store_files
from autocomp.store.config import dumps_toml, render_config, strip_secrets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches it on the way out."""


def test_crash_between_temp_write_and_rename_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "eval.json"
    store_files.atomic_write_json(target, {"status": "correct", "latency_us": 10.0})
    old = target.read_bytes()

    def crash(src, dst):
        assert Path(src).read_bytes().startswith(b"{")  # the new content was fully written first
        raise Crash()

    monkeypatch.setattr(store_files.os, "replace", crash)
    with pytest.raises(Crash):
        store_files.atomic_write_json(target, {"status": "incorrect"})
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_atomic_write_creates_parents_with_readable_mode(tmp_path):
    target = tmp_path / "a" / "b" / "kernel.py"
    store_files.atomic_write_text(target, "x = 1\n")
    assert target.read_text() == "x = 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_temp_files_left_by_a_crash_are_removed_on_open(run_dir):
    leftovers = [run_dir / ".tmp-config.toml.abc", run_dir / "candidates" / "0001" / ".tmp-eval.json.xyz"]
    for p in leftovers:
        p.write_text("half written")
    RunStore.open(run_dir).close()
    assert not any(p.exists() for p in leftovers)


def test_events_are_appended_one_json_line_each_and_a_torn_line_is_skipped(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        store.event("proposal", iteration=1, n=4)
        store.event("note", text="héllo\nworld")
        root = store.root
    with open(root / "events.jsonl", "a") as f:
        f.write('{"kind": "torn", "t": 1')  # the crash came mid-append
    with RunReader.open_readonly(root) as run:
        kinds = [e["kind"] for e in run.events()]
    assert kinds == ["run_created", "proposal", "note"]
    lines = (root / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[2])["text"] == "héllo\nworld"


def test_append_jsonl_fsyncs_every_event(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(store_files.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    for i in range(3):
        store_files.append_jsonl(tmp_path / "events.jsonl", {"i": i})
    assert len(synced) == 3


# ---------------------------------------------------------------- config.toml and secrets
CONFIG = {
    "llm": {
        "models": {"anthropic:claude-sonnet-4-5": 3, "vllm:qwen3-coder": 1},
        "api_key": "sk-ant-api03-abcdefghijklmnop",
        "api_key_env": "ANTHROPIC_API_KEY",
        "max_tokens": 4096,
        "max_usd": 5.0,
        "providers": [{"name": "vllm", "base_url": "http://gpu:8000/v1", "token": "hunter2hunter2"},
                      {"name": "openai", "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwx"}}],
    },
    "aws": {"access_key": "AKIAABCDEFGHIJKLMNOP", "region": "us-west-2"},
    "search": {"beam": 4, "iterations": 8, "temperature": 0.7, "notes": None, "stop": ["```"]},
    "password": "swordfish",
    "client_secret": "s3cr3t-value",
    "extra_args": ["--flag", "sk-proj-0123456789abcdef"],
}


def test_secrets_are_stripped_by_key_name_and_by_value_shape():
    clean, removed = strip_secrets(CONFIG)
    assert set(removed) == {"llm.api_key", "llm.providers[0].token", "llm.providers[1].headers.Authorization",
                            "aws.access_key", "password", "client_secret", "extra_args[1]"}
    text = json.dumps(clean)
    for secret in ("sk-ant", "hunter2", "Bearer", "AKIA", "swordfish", "s3cr3t", "sk-proj"):
        assert secret not in text
    assert clean["llm"]["max_tokens"] == 4096 and clean["llm"]["api_key_env"] == "ANTHROPIC_API_KEY"
    assert clean["extra_args"] == ["--flag"]


def test_registered_keys_are_stripped_whatever_their_name():
    from autocomp.llm.redact import register_secret

    register_secret("custom-key-shape-0000-1111")
    clean, removed = strip_secrets({"endpoint": {"x": "custom-key-shape-0000-1111"}})
    assert removed == ["endpoint.x"] and clean == {"endpoint": {}}


def test_config_toml_round_trips_without_secrets(runs_dir, problem):
    with RunStore.create(runs_dir, problem, CONFIG) as store:
        text = (store.root / "config.toml").read_text()
        loaded = store.config()
        events = store.events()
    for secret in ("sk-ant", "hunter2", "Bearer ", "AKIA", "swordfish", "s3cr3t", "sk-proj"):
        assert secret not in text
    assert "llm.api_key" in text  # the header says what was removed, never the value
    clean, _ = strip_secrets(CONFIG)
    clean["search"].pop("notes")  # TOML has no null
    assert loaded == clean
    assert events[0]["config_secrets_removed"]


def test_toml_writer_handles_awkward_keys_values_and_pydantic_models():
    from pydantic import BaseModel, SecretStr

    class Settings(BaseModel):
        name: str = 'quote " and \\ backslash'
        key: SecretStr = SecretStr("anything-at-all")
        ratio: float = float("inf")
        weird: dict = {"a.b": 1, "with space": [1, 2], "empty": {}}

    text, removed = render_config(Settings())
    assert removed == ["key"]
    data = tomllib.loads(text)
    assert data["name"] == 'quote " and \\ backslash' and data["ratio"] == float("inf")
    assert data["weird"] == {"a.b": 1, "with space": [1, 2], "empty": {}}
    assert tomllib.loads(dumps_toml({"runs": [{"a": 1}, {"a": 2}]})) == {"runs": [{"a": 1}, {"a": 2}]}
