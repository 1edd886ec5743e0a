"""config.toml of a run: the resolved configuration, written without secrets.

There is no TOML writer in the standard library, so a small one lives here; it
covers what a resolved config holds (tables, scalars, lists, lists of tables).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Key names that hold credentials. Anchored at the end so `max_tokens` and `api_key_env` (a variable name) stay.
_SECRET_KEY = re.compile(
    r"(?i)(^|[_.-])(api[_-]?key|apikey|secret|secret[_-]?key|password|passwd|credentials?|token|auth|"
    r"auth[_-]?token|access[_-]?token|refresh[_-]?token|session[_-]?token|bearer|private[_-]?key|access[_-]?key)$")
# Values shaped like credentials, whatever their key is called.
_SECRET_VALUE = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)^bearer\s+\S{8,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub token
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),  # Hugging Face token
    re.compile(r"^\*{6,}$"),  # pydantic SecretStr as dumped
]
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _looks_secret_value(value: str) -> bool:
    if any(p.search(value) for p in _SECRET_VALUE):
        return True
    try:  # keys the LLM layer was told about (registered API keys)
        from autocomp.llm.redact import scrub
    except ImportError:  # pragma: no cover
        return False
    return scrub(value) != value


def strip_secrets(config: Any, path: str = "") -> tuple[Any, list[str]]:
    """``config`` without credential-looking keys or values, and the dotted paths that were removed."""
    removed: list[str] = []
    if isinstance(config, Mapping):
        out = {}
        for key, value in config.items():
            sub = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and value not in (None, "", False):
                removed.append(sub)
                continue
            if isinstance(value, str) and _looks_secret_value(value):
                removed.append(sub)
                continue
            clean, more = strip_secrets(value, sub)
            removed += more
            out[key] = clean
        return out, removed
    if isinstance(config, (list, tuple)):
        items = []
        for i, value in enumerate(config):
            if isinstance(value, str) and _looks_secret_value(value):
                removed.append(f"{path}[{i}]")
                continue
            clean, more = strip_secrets(value, f"{path}[{i}]")
            removed += more
            items.append(clean)
        return items, removed
    return config, removed


def to_plain(config: Any) -> Any:
    """A pydantic model, dataclass or mapping turned into plain dicts, lists and scalars."""
    if hasattr(config, "model_dump"):
        return to_plain(config.model_dump(mode="json"))
    if hasattr(config, "__dataclass_fields__"):
        import dataclasses

        return to_plain(dataclasses.asdict(config))
    if isinstance(config, Mapping):
        return {str(k): to_plain(v) for k, v in config.items()}
    if isinstance(config, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in config]
    if isinstance(config, Path):
        return str(config)
    return config


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v if x is not None) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items() if x is not None) + "}"
    return json.dumps(str(v))


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _emit(table: Mapping, prefix: str, lines: list[str]) -> None:
    # TOML has no null: None values are left out.
    for k, v in table.items():
        if v is None or isinstance(v, Mapping) or _is_table_list(v):
            continue
        lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in table.items():
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, Mapping):
            lines.append("")
            lines.append(f"[{name}]")
            _emit(v, name, lines)
        elif _is_table_list(v):
            for item in v:
                lines.append("")
                lines.append(f"[[{name}]]")
                _emit(item, name, lines)


def dumps_toml(config: Mapping) -> str:
    """``config`` (plain dicts, lists and scalars) as TOML text."""
    lines: list[str] = []
    _emit(config, "", lines)
    return "\n".join(lines).strip() + "\n"


def render_config(config: Any) -> tuple[str, list[str]]:
    """config.toml text for ``config`` with secrets removed, and the dotted paths removed."""
    plain = to_plain(config) if config is not None else {}
    if not isinstance(plain, Mapping):
        raise TypeError(f"run config must be a mapping or a pydantic model, got {type(config).__name__}")
    clean, removed = strip_secrets(plain)
    header = "# Resolved configuration of this run, written by autocomp. Secrets are never stored here.\n"
    if removed:
        header += f"# Removed because they look like credentials: {', '.join(removed)}\n"
    return header + "\n" + dumps_toml(clean), removed


def load_config(path: str | Path) -> dict:
    """Read a run's config.toml (an empty dict if it is missing)."""
    path = Path(path)
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))
