"""AuditService: what adapters call for audits, progress, cancel, watch mode and forget."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from bot.audit import Member
from bot.audit.audit_service import AuditService, progress_reply
from bot.audit.runner import Progress
from bot.core.pool import AnalysisPool
from bot.core.sessions import parse_button_id
from bot.settings import get_settings
from bot.store.sqlite import SQLiteStore
from tests.c2pa_fixtures import signed_ai_jpeg
from tests.test_audit import avatar


@pytest.fixture
async def audits(tmp_path):
    store = await SQLiteStore.open(tmp_path / "s.sqlite3")
    pool = AnalysisPool(inline=True)
    yield AuditService(store, pool, get_settings())
    await store.close()


PICTURES = {"ai": signed_ai_jpeg(), "a": avatar(1), "b": avatar(2), "dup": avatar(3)}


async def fetch(member: Member) -> bytes:
    return PICTURES[member.avatar_url.rsplit("/", 1)[1]]


async def stream(items):
    for m in items:
        yield m


MEMBERS = [
    Member("1", "Ann", "cdn/ai", "k-ai"),
    Member("2", "Bob", "cdn/a", "k-a"),
    Member("3", "Cy", "cdn/dup", "k-dup"),
    Member("4", "Di", "cdn/dup", "k-dup"),
    Member("5", "Ed", None),
]


async def test_audit_report_reply_with_files(audits):
    shown = []

    async def show(reply):
        shown.append(reply)

    reply = await audits.start(
        "discord", "g1", "Guild One", "mod", stream(MEMBERS), fetch, show, total=5
    )
    assert reply.title == "Avatar audit of Guild One"
    names = [a.filename for a in reply.attachments]
    assert names == ["headshot-audit.csv", "headshot-audit.html"]
    rows = {
        r["member_id"]: r for r in csv.DictReader(io.StringIO(reply.attachments[0].data.decode()))
    }
    assert rows["1"]["verdict"] == "signals of AI generation"
    assert rows["3"]["duplicate_group"] == rows["4"]["duplicate_group"] == "1"
    assert any("Ann" in line for s in reply.sections for line in s.lines)
    assert "fake" not in reply.attachments[1].data.decode().lower()


async def test_progress_reply_has_cancel_and_eta():
    p = Progress(done=1240, total=9812, flagged=3, cached=0, started=0.0)
    reply = progress_reply("run1", p)
    assert "Checked 1,240 of 9,812 avatars" in reply.summary
    (cancel,) = reply.actions
    assert parse_button_id(cancel.id) == ("run1", "cancel")
    assert progress_reply("run1", p, final=True).actions == []


async def test_cancel_stops_a_running_audit(audits):
    gate = asyncio.Event()

    async def slow_members():
        for i in range(200):
            if i == 3:
                gate.set()
            await asyncio.sleep(0.005)
            yield Member(str(i), f"m{i}", "cdn/a", f"k{i}")

    async def show(reply):
        pass

    task = asyncio.create_task(
        audits.start("slack", "T1", "Team", "U1", slow_members(), fetch, show)
    )
    await gate.wait()
    (run,) = await audits.unfinished("slack")
    assert audits.cancel(run.id)
    reply = await task
    assert reply.title.endswith("(cancelled)")
    assert not audits.cancel(run.id)  # nothing left to cancel


async def test_watch_mode_notes_ai_and_duplicates_only_when_on(audits):
    ai = Member("1", "Ann", "cdn/ai", "k-ai")
    assert await audits.watch("discord", "g", ai, fetch) is None  # watch is off by default
    await audits.update_settings("discord", "g", watch=True, modlog_channel="c1")
    note = await audits.watch("discord", "g", ai, fetch)
    assert note is not None and "No action was taken" in note.sections[0].lines[-1]
    assert await audits.watch("discord", "g", Member("2", "Bob", "cdn/a", "k-a"), fetch) is None
    await audits.watch("discord", "g", Member("3", "Cy", "cdn/dup", "k-dup"), fetch)
    dup = await audits.watch("discord", "g", Member("4", "Di", "cdn/dup", "k-dup"), fetch)
    assert dup is not None and "1 other members" in dup.sections[0].lines[0]


async def test_settings_and_forget(audits):
    prefs = await audits.update_settings("discord", "g", watch=True, retention_days=7)
    assert prefs.watch and prefs.retention_days == 7
    assert (await audits.server_settings("discord", "g")).watch
    await audits.update_settings("discord", "g", watch=True)
    await audits.watch("discord", "g", Member("1", "Ann", "cdn/ai", "k-ai"), fetch)
    await audits.forget("discord", "1")
    assert await audits.store.server_phashes("discord", "g") == []


def test_button_ids_are_one_format_for_both_platforms() -> None:
    import re

    from bot.core.buttons import (
        CANCEL,
        NOTE,
        cancel_button,
        moderator_pattern,
        note_button,
        page_pattern,
    )

    assert cancel_button("ab12cd34") == "hc:cancel:ab12cd34"
    assert parse_button_id(note_button("U0BOB00001")) == ("U0BOB00001", "note")
    # A Slack note posted before the ids were one format still reaches the Details handler.
    assert parse_button_id("hc:auditnote:U0BOB00001") == ("U0BOB00001", "note")
    assert re.fullmatch(moderator_pattern(NOTE), "hc:auditnote:U0BOB00001")
    assert re.fullmatch(moderator_pattern(CANCEL, "[0-9a-f]{8,64}"), "hc:cancel:ab12cd34")
    assert not re.fullmatch(moderator_pattern(CANCEL, "[0-9a-f]{8,64}"), "hc:cancel:XYZ")
    # Reply pages never catch a moderator button, and moderator buttons never a page.
    pages = re.compile(page_pattern())
    assert pages.fullmatch("hc:details:tok-1_x")["name"] == "details"  # type: ignore[index]
    for moderator in ("hc:cancel:ab12cd34", "hc:note:123", "hc:auditnote:U1"):
        assert not pages.fullmatch(moderator)
    assert parse_button_id("xx:details:t") is None and parse_button_id("hc:details") is None


def test_platform_words_replace_only_their_own_keys() -> None:
    from bot.audit.flows import notice, worded
    from bot.core.request import Platform

    slack, discord = worded("settings", Platform.SLACK), worded("settings", Platform.DISCORD)
    assert slack["watch"] == discord["watch"] == "Watch mode: {value}"  # said once, for both
    assert slack["role"] != discord["role"] and slack.get("usage") and not discord.get("usage")
    assert "Manage Server" in notice("refused", Platform.DISCORD).summary
    assert "user group" in notice("refused", Platform.SLACK).summary
