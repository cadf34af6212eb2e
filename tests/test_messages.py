"""The message catalogue: one loader, and every id the code names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import messages
from bot.analysis.intake.refusals import IntakeError
from bot.core.pool import PoolError
from bot.errors import CodedError

ROOT = Path(__file__).resolve().parents[1]
# messages.text("a.b"), text("a.b", …), lines("a.b"), entry(...), table(...) with a literal id
_CALL = re.compile(
    r"\b(?:messages\.)?(text|lines|entry|table)\(\s*\"([a-z0-9_]+(?:\.[a-z0-9_]+)+)\""
)


def _literal_ids() -> set[tuple[str, str, str]]:
    found = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cogs").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        if "messages" not in source or path.name == "messages.py":
            continue
        for kind, key in _CALL.findall(source):
            found.add((str(path.relative_to(ROOT)), kind, key))
    return found


def test_every_literal_id_in_the_code_is_in_the_catalogue() -> None:
    missing = []
    for where, kind, key in sorted(_literal_ids()):
        try:
            value = messages.entry(key)
        except KeyError:
            missing.append(f"{where}: {key}")
            continue
        expected = {"text": str, "lines": list, "table": dict}.get(kind)
        if expected and not isinstance(value, expected):
            missing.append(f"{where}: {key} is not a {expected.__name__}")
    assert not missing, "\n".join(missing)


def test_lookups_fill_placeholders_and_name_a_missing_id() -> None:
    assert "30" in messages.text("pool.timeout", seconds=30)
    with pytest.raises(KeyError, match=r"no message 'pool\.nonexistent'"):
        messages.text("pool.nonexistent")
    with pytest.raises(TypeError):
        messages.text("help.lines")


def test_coded_errors_share_one_base_and_word_themselves_from_the_catalogue() -> None:
    error = PoolError("timeout", seconds=12)
    assert error.code == "timeout" and "12" in error.message and str(error) == error.message
    given = IntakeError("empty", "That file is empty.")
    assert given.message == "That file is empty." and isinstance(given, CodedError)
