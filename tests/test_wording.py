"""Words people read come from config/, through the one catalogue (issue 13, item 3): a
rewording is a change to a file there, each refusal is worded once, and contexts have one home."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from bot import messages, settings
from bot.adapters import batch
from bot.adapters.slack_listeners.commands import parse_disclose
from bot.analysis.pipeline.run import analyze
from bot.core import compose
from bot.core.download import DownloadError, _too_big
from bot.core.reply import Reply
from bot.core.sessions import ReplyCache
from bot.guidance import CONTEXTS, get_guide
from bot.guidance.contexts import context_slug
from bot.settings import get_settings
from tests.conftest import jpeg_bytes

ROOT = Path(__file__).resolve().parents[1]
# Modules that build what people read: no sentence may be written in them.
WORDED = [
    "bot/core/compose.py",
    "bot/core/reply.py",
    "bot/core/sessions.py",
    "bot/core/service.py",
    "bot/core/download.py",
    "bot/render/text.py",
    "bot/render/discord.py",
    "bot/render/slack.py",
    "bot/adapters/console.py",
    "bot/adapters/batch.py",
    "bot/guidance/answering.py",
    "bot/guidance/disclosure.py",
    "bot/guidance/models.py",
]
# Not shown to people: the source name the bot's own passages give in config/guidance/passages
# (a key that replies leave out of their citations).
NOT_WORDS = {"Headshot Check"}


def _is_log_call(node: ast.AST) -> bool:
    """`log.info(...)` and the like, and `apology(log, what, …)` (whose `what` goes to the
    log): messages for operators, not for the people served."""
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name) and func.id == "apology":
        return True
    return isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "log"


def _sentences(path: Path, root: Path = ROOT) -> list[str]:
    """String constants of two or more words, less docstrings and log messages."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))  # a docstring
        if _is_log_call(node):
            skip.update(id(arg) for arg in getattr(node, "args", []))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            words = [w for w in node.value.split() if sum(c.isalpha() for c in w) >= 2]
            if len(words) >= 2 and node.value not in NOT_WORDS:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_no_sentence_is_written_in_the_code_that_builds_replies() -> None:
    found = [line for name in WORDED for line in _sentences(ROOT / name)]
    assert not found, "move these into config/messages*:\n" + "\n".join(found)


def test_the_guard_sees_a_sentence_in_code(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Doc string here."""\nlog.info("not for people %s", x)\nT = "Look here"\n')
    assert _sentences(sample, tmp_path) == ["sample.py:3: 'Look here'"]


@pytest.fixture
def reworded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of config/ whose files the test may change; the catalogue reads it afresh."""
    config = tmp_path / "config"
    shutil.copytree(settings.CONFIG_DIR, config)
    monkeypatch.setattr(settings, "CONFIG_DIR", config)
    messages.catalogue.cache_clear()
    yield config
    messages.catalogue.cache_clear()


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_rewording_a_reply_is_editing_config(reworded: Path) -> None:
    replies = reworded / "messages" / "replies.toml"
    _replace(replies, 'details = "Details"', 'details = "Everything"')
    _replace(replies, 'evidence = "Evidence"', 'evidence = "What I found"')
    _replace(replies, 'ran = "ran"', 'ran = "done"')
    report = analyze(jpeg_bytes((64, 64)), "plain.jpg")
    reply = compose.check_reply(report, get_guide(), platform="slack")
    assert ("details", "Everything") in [(a.id, a.label) for a in reply.actions]
    assert reply.sections[0].title == "What I found"
    checks = next(s for s in reply.pages["details"] if s.title == "Checks")
    assert any(": done, " in line for line in checks.lines)
    page = reply.page_reply("details")
    assert page is not None and page.title.startswith("Everything — ")


def test_expired_buttons_and_waits_are_worded_in_config(reworded: Path) -> None:
    replies = reworded / "messages" / "replies.toml"
    _replace(replies, 'many = "{n} seconds"', 'many = "{n} s"')
    _replace(replies, 'title = "This result has expired"', 'title = "Too late"')
    assert compose.seconds(30) == "30 s" and compose.seconds(0.2) == "1 second"
    assert ReplyCache().page("gone", "details").title == "Too late"


def test_a_file_over_the_limit_reads_the_same_on_every_path(tmp_path: Path) -> None:
    limit = get_settings().limits.max_bytes
    said = messages.text("refusals.too_large", mb=f"{limit / 1e6:g}")
    assert _too_big(limit).message == said and _too_big(limit).code == "too_large"
    big = tmp_path / "huge.jpg"
    with big.open("wb") as fh:  # sparse: nothing is written but the size
        fh.truncate(limit + 1)
    assert batch.unreadable(big) == ("too_large", said)
    assert "too_large" not in messages.table("cli.problems")  # not worded a second time


def test_downloads_word_their_refusals_in_the_catalogue() -> None:
    words = messages.table("download")
    for code in ("host_not_allowed", "download_timeout", "download_failed", "file_forbidden"):
        assert DownloadError(code).message == words[code]


def test_contexts_live_in_one_file() -> None:
    with (ROOT / "config/guidance/disclosure.toml").open("rb") as fh:
        table = tomllib.load(fh)
    assert list(CONTEXTS) == [c for c in table["contexts"] if c != "other"]
    assert context_slug("CV") == "resume" and context_slug("Company page") == "company-page"
    assert context_slug("linkedin") == "linkedin" and context_slug("the moon") is None
    # Slack's /headshot-disclose reads the same words as the guidance does, from that file.
    for word, slug in table["aliases"].items():
        request = parse_disclose(word, "U1")
        assert request is not None and request.context == slug, word
    assert "aliases" not in messages.table("slack.disclose")


def test_wording_has_one_loader() -> None:
    # Only bot/messages.py reads wording files; nothing keeps a second table of its own.
    readers = [
        str(path.relative_to(ROOT))
        for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cogs").rglob("*.py")]
        if path.name != "messages.py"
        and re.search(r"load_toml\([^)]*messages|def messages\(", path.read_text("utf-8"))
    ]
    assert readers == []
    assert isinstance(compose.message_reply("no_images"), Reply)
