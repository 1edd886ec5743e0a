"""Reading the prompt files' YAML (menu.yaml, rules.yaml, api.yaml, Autocomp-style optimization menus)
with PyYAML's safe loader, so any valid YAML loads; a malformed file is one error naming its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class YamlError(ValueError):
    pass


def loads(text: str, name: str = "<yaml>") -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise YamlError(f"{name}{line}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise YamlError(f"{name}: invalid YAML: {e}") from None


def load(path: str | Path) -> Any:
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path))
