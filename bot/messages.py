"""The message catalogue: every sentence a person reads, looked up by a dotted id.

The words live in config/, never in code, so rewording or translating the bot is editing
files. `config/messages.toml` is the root of the catalogue; each `config/messages/NAME.toml`
is mounted under the id `NAME` (so `text("audit.starting")` reads `[starting]` of
`config/messages/audit.toml`). Ids are checked by tests/test_messages.py: every literal id
used in the code must exist here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.settings import config_path, load_toml


@cache
def catalogue() -> dict[str, Any]:
    """The whole catalogue, read once."""
    root = dict(load_toml("messages.toml"))
    folder = config_path("messages")
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
        if path.stem in root:
            raise ValueError(
                f"config/messages/{path.name} clashes with [{path.stem}] in messages.toml"
            )
        root[path.stem] = load_toml("messages", path.name)
    return root


def entry(key: str) -> Any:
    """The catalogue entry at `key` (a string, a list of lines or a table)."""
    node: Any = catalogue()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"no message {key!r} in the catalogue (config/messages*)")
        node = node[part]
    return node


def text(key: str, /, **fmt: object) -> str:
    """The sentence at `key`, with `{placeholders}` filled from `fmt`."""
    value = entry(key)
    if not isinstance(value, str):
        raise TypeError(f"message {key!r} is not a sentence")
    return value.format(**fmt) if fmt else value


def lines(key: str, /, **fmt: object) -> list[str]:
    """The list of lines at `key`, each filled from `fmt`."""
    value = entry(key)
    if not isinstance(value, list):
        raise TypeError(f"message {key!r} is not a list of lines")
    return [str(line).format(**fmt) if fmt else str(line) for line in value]


def table(key: str, /) -> dict[str, Any]:
    """The table at `key` (for callers that pick an entry by a runtime code)."""
    value = entry(key)
    if not isinstance(value, dict):
        raise TypeError(f"message {key!r} is not a table")
    return value
