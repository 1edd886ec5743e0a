"""config.toml of a run: the resolved configuration, written without secrets (TOML by tomli-w)."""

from __future__ import annotations

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


def _without_none(value: Any) -> Any:
    # TOML has no null: None values are left out (in tables and in lists).
    if isinstance(value, Mapping):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def dumps_toml(config: Mapping) -> str:
    """``config`` (plain dicts, lists and scalars) as TOML text, written by tomli-w."""
    import tomli_w

    return tomli_w.dumps(_without_none(config))


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
