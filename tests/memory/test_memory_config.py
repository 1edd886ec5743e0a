"""The [memory] table: flat names, files with and without it, and bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.search.config import ConfigError, build_config, load_config_file
from autocomp.search.experience import memory_path
from autocomp.search.runner import config_from_run


def test_defaults_and_flat_names():
    cfg = build_config()
    assert cfg.memory.enabled and cfg.memory.path is None and cfg.memory.budget_tokens > 0
    cfg = build_config(memory_enabled=False, memory_path="m.sqlite", memory_budget_tokens=100, memory_entries=2)
    assert (cfg.memory.enabled, cfg.memory.path, cfg.memory.budget_tokens, cfg.memory.max_entries) == (
        False, Path("m.sqlite"), 100, 2)
    assert memory_path(cfg) is None


def test_the_table_in_a_file_and_a_key_in_the_wrong_place(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[memory]\npath = "mem.sqlite"\nmax_entries = 3\n')
    cfg = build_config(load_config_file(path))
    assert cfg.memory.path == Path("mem.sqlite") and cfg.memory.max_entries == 3
    assert memory_path(cfg, {}) == Path("mem.sqlite")
    path.write_text('[search]\nbudget_tokens = 3\n')
    with pytest.raises(ConfigError, match=r"\[search\] budget_tokens: belongs in \[memory\]"):
        load_config_file(path)
    with pytest.raises(ConfigError, match="memory.budget_tokens"):
        build_config(memory_budget_tokens=-1)


def test_a_stored_config_of_an_earlier_version_loads_with_the_memory_on(tmp_path):
    cfg = config_from_run({"problem": "p", "agent": "knobs", "beam": 2, "workers": 1})
    assert cfg.search.beam == 2 and cfg.memory.enabled
    assert memory_path(cfg, {"AUTOCOMP_MEMORY": str(tmp_path / "m.sqlite")}) == tmp_path / "m.sqlite"
    assert memory_path(cfg, {"AUTOCOMP_MEMORY": "off"}) is None
