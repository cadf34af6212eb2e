"""Avatar audits, settings, watch mode and forget on Slack, end to end: the real Bolt app in
HTTP mode against the fake Slack (users.list pages, users.info, user groups, chat.update and an
avatar host), a real SQLite store and the real analysis."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.audit import resume_unfinished
from bot.adapters.slack_listeners.members import to_member
from bot.adapters.slack_listeners.moderation import parse_settings
from bot.adapters.slack_oauth import FixedWorkspaces
from bot.audit.audit_service import AuditService
from bot.audit.runner import Member
from bot.core.pool import AnalysisPool
from bot.core.sessions import button_id, parse_button_id
from bot.settings import Audit, Settings
from bot.store import AuditRow
from bot.store.sqlite import SQLiteStore
from tests.c2pa_fixtures import signed_ai_jpeg
from tests.fakes.slack_fake import TEAM_ID, FakeSlack
from tests.metadata_fixtures import phone_exif, png_with_xmp, save, scene, xmp_packet
from tests.test_slack_e2e import Harness, blocks_of, buttons, header_of, make_settings, texts

ADMIN, MOD, PLAIN = "U0ADMIN001", "U0MOD00001", "U0ALICE001"
MODS_GROUP = "S0MODS0001"
MODLOG = "C0MODLOG01"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
N_PLAIN, N_SHARED = 200, 3


# -- the workspace's pictures ---------------------------------------------------------------
@lru_cache(maxsize=1)
def pictures() -> dict[str, bytes]:
    """Small avatars: AI with content credentials, AI with IPTC metadata, phone photos with
    camera EXIF, pictures without metadata, and one picture several accounts share."""
    ai_xmp = xmp_packet({"plus:DigitalSourceType": IPTC + "trainedAlgorithmicMedia"})
    out = {"c2pa-ai": signed_ai_jpeg(64), "shared": save(scene((64, 64), 999), "PNG")}
    for i in range(3):
        out[f"xmp-ai{i}"] = png_with_xmp(scene((64, 64), 7000 + i), ai_xmp)
        out[f"camera{i}"] = save(scene((64, 64), 8000 + i), "JPEG", exif=phone_exif(gps=None))
    for i in range(N_PLAIN):
        out[f"plain{i}"] = save(scene((48, 48), i), "PNG")
    return out


AI = ["c2pa-ai", "xmp-ai0", "xmp-ai1", "xmp-ai2"]
CAMERA = ["camera0", "camera1", "camera2"]


def populate(fake: FakeSlack, total: int = 2000, plain: int = N_PLAIN) -> dict[str, str]:
    """`total` users: staff, the pictures above (`plain` of those without metadata), bots,
    deactivated accounts and default avatars. Returns user id -> picture name for the members
    with a custom avatar."""
    pics = pictures()
    fake.add_user(ADMIN, "Ada Admin", is_admin=True)
    fake.add_user(MOD, "Mo Moderator")
    fake.add_user(PLAIN, "Alice")
    fake.usergroups[MODS_GROUP] = [MOD]
    fake.add_user("USLACKBOT", "Slackbot", pics["plain0"])
    owners: dict[str, str] = {}
    names = AI + CAMERA + [f"plain{i}" for i in range(plain)] + ["shared"] * N_SHARED
    for i, pic in enumerate(names):
        uid = f"U{i:05d}PIC"
        fake.add_user(uid, f"member {pic} {i}", pics[pic], avatar_name=pic)
        owners[uid] = pic
    for i in range(10):
        fake.add_user(f"U{i:05d}BOT", f"bot {i}", pics["plain1"], is_bot=True)
        fake.add_user(f"U{i:05d}GONE", f"gone {i}", pics["plain2"], deleted=True)
    i = 0
    while len(fake.users) < total:
        fake.add_user(f"U{i:05d}DEF", f"default {i}")
        i += 1
    return owners


HUMANS = 2000 - 1 - 20  # Slackbot, bots and deactivated accounts are not members to audit


def audit_settings(fake: FakeSlack) -> Settings:
    base = make_settings(fake)
    slack = base.slack.model_copy(update={"avatar_hosts": [fake.host]})
    return base.model_copy(update={"slack": slack, "audit": Audit(progress_interval_s=0.05)})


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(
    fake: FakeSlack, tmp_path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Harness]:
    settings = audit_settings(fake)
    h = Harness(fake, settings)
    store = await SQLiteStore.open(tmp_path / "audit.sqlite3")
    h.bridge.audits = AuditService(store, AnalysisPool(inline=True), settings)
    await h.start()
    yield h
    await h.close()
    await store.close()
    # A listener or job that crashed would only show in the log: fail the test on it.
    records = caplog.get_records("call") + caplog.get_records("teardown")
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert not errors, errors


def audits(h: Harness) -> AuditService:
    assert h.bridge.audits is not None
    return h.bridge.audits


# -- reading what the app sent --------------------------------------------------------------
def dm_of(user: str) -> str:
    return "D" + user.removeprefix("U")


def posts_to(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_to("chat.postMessage") if c.params["channel"] == channel]


def report_files(fake: FakeSlack) -> tuple[list[dict[str, str]], str]:
    """The newest report's CSV rows and HTML page, from the uploads."""
    csvs = [d for d in fake.uploads.values() if d.startswith(b"member_id,")]
    pages = [d for d in fake.uploads.values() if d.startswith(b"<!doctype html>")]
    rows = list(csv.DictReader(io.StringIO(csvs[-1].decode())))
    return rows, pages[-1].decode()


async def audit(h: Harness, user: str = ADMIN) -> None:
    status, _ = await h.command("/headshot-audit", user_id=user)
    assert status == 200
    await h.settle()


async def press(h: Harness, action_id: str, user: str, channel: str) -> None:
    status, _ = await h.interactive(
        {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
            "message": {"ts": "1.1", "text": ""},
            "response_url": h.fake.response_url("press"),
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "type": "button", "value": action_id}],
        }
    )
    assert status == 200


# -- the audit --------------------------------------------------------------------------------
async def test_admin_audit_with_progress_and_report(slack: Harness) -> None:
    fake = slack.fake
    owners = populate(fake)
    fake.fail("users.list", "ratelimited", times=2, retry_after=0)  # Tier 2: big workspaces
    started = time.monotonic()
    await audit(slack)
    elapsed = time.monotonic() - started

    # The requester is told privately where things will appear.
    assert "your direct messages" in texts(fake.responses[0]["blocks"])
    # Every users.list page was read, following the cursor.
    pages = fake.calls_to("users.list")
    cursors = [c.params.get("cursor") for c in pages]
    assert len(pages) == 2 + 10 and cursors[-1] == "1800"
    assert all(c.params["limit"] == "200" for c in pages)
    # Progress: one DM message, edited in place with counts and a Cancel button.
    dm = dm_of(ADMIN)
    updates = [c.params for c in fake.calls_to("chat.update")]
    assert {u["channel"] for u in updates} == {dm} and len({u["ts"] for u in updates}) == 1
    listing = [texts(u["blocks"]) for u in updates if "Listing" in texts(u["blocks"])]
    # After each users.list page but the last; bots, Slackbot and the deactivated don't count.
    assert len(listing) == 9 and "members… 1,779 so far" in listing[-1]
    progress = [texts(u["blocks"]) for u in updates if "Checked" in texts(u["blocks"])]
    assert progress and f"of {HUMANS:,} avatars" in progress[0]
    cancel = buttons(next(u["blocks"] for u in updates if buttons(u["blocks"])))
    run_id, name = parse_button_id(cancel["Cancel"]) or ("", "")
    assert name == "cancel" and run_id
    assert "The report is in your direct messages" in texts(updates[-1]["blocks"])
    # Avatars: only custom ones, each once, from the avatar host, without the bot token.
    assert len(fake.avatar_downloads) == len(owners)
    # The report: summary blocks by DM, then the CSV and the HTML page.
    report = next(p for p in posts_to(fake, dm) if "Avatar audit of" in header_of(p["blocks"]))
    assert header_of(report["blocks"]) == "Avatar audit of Fake Team"
    assert f"{HUMANS} members checked" in texts(report["blocks"])
    (upload,) = fake.calls_to("files.completeUploadExternal")
    assert upload.params["channel_id"] == dm
    rows, page = report_files(fake)
    assert len(rows) == HUMANS
    by_id = {r["member_id"]: r for r in rows}
    assert "USLACKBOT" not in by_id and "U00000BOT" not in by_id and "U00000GONE" not in by_id
    verdicts = {pic: by_id[uid]["verdict"] for uid, pic in owners.items()}
    assert all(verdicts[p] == "signals of AI generation" for p in AI)
    assert all(verdicts[p] == "camera photo" for p in CAMERA)
    assert verdicts["plain5"] == "no evidence either way"
    assert by_id["U00000DEF"]["verdict"] == "default avatar (not checked)"
    assert not [r for r in rows if r["error"]]
    shared = {by_id[uid]["duplicate_group"] for uid, pic in owners.items() if pic == "shared"}
    assert len(shared) == 1 and shared != {""}
    assert {r["duplicate_group"] for r in rows} == {"", *shared}  # no other look-alikes
    # The HTML page: flagged avatars with thumbnails, the shared group, careful wording.
    assert page.count("data:image/jpeg;base64") >= len(AI) + N_SHARED
    assert "member c2pa-ai 0" in page and "Group 1: 3 accounts, one face" in page
    assert 'href="https://fake.slack.com/team/U00000DEF"' in page  # every member, linked
    assert "fake user" not in page.lower()
    assert elapsed < 60


async def test_reaudit_is_answered_from_the_cache(slack: Harness) -> None:
    fake = slack.fake
    owners = populate(fake, total=400)
    await audit(slack)
    first, _ = report_files(fake)
    downloads = len(fake.avatar_downloads)
    assert downloads == len(owners)

    await audit(slack)
    second, _ = report_files(fake)
    # Unchanged avatars (same Slack avatar hash) are neither downloaded nor analysed again;
    # only flagged ones are fetched again, for their report thumbnails.
    again = fake.avatar_downloads[downloads:]
    assert sorted(again) == sorted(owners[u] for u in owners if owners[u] in AI)
    assert [(r["member_id"], r["verdict"]) for r in second] == [
        (r["member_id"], r["verdict"]) for r in first
    ]
    assert len(fake.calls_to("files.completeUploadExternal")) == 2


async def test_cancel_button_stops_the_audit(slack: Harness) -> None:
    fake = slack.fake
    populate(fake, total=300)
    fake.avatar_delay_s = 0.2
    status, _ = await slack.command("/headshot-audit", user_id=ADMIN)
    assert status == 200
    updates = await fake.wait_for("chat.update")
    deadline = time.monotonic() + 15
    while not any(buttons(c.params["blocks"]) for c in updates):
        assert time.monotonic() < deadline, "no Cancel button appeared"
        updates = await fake.wait_for("chat.update", len(updates) + 1)
    cancel = next(
        buttons(c.params["blocks"])["Cancel"] for c in updates if buttons(c.params["blocks"])
    )
    # Cancel is for moderators (as on Discord): anyone else is refused, the audit goes on.
    await press(slack, cancel, PLAIN, dm_of(ADMIN))
    await fake.wait_for("chat.update", len(fake.calls_to("chat.update")) + 1)
    assert "Only workspace admins" in texts(fake.responses[-1]["blocks"])
    assert await audits(slack).unfinished("slack")
    await press(slack, cancel, ADMIN, dm_of(ADMIN))
    await slack.settle()
    assert any("Cancelling" in texts(r["blocks"]) for r in fake.responses)

    report = next(
        p for p in posts_to(fake, dm_of(ADMIN)) if "Avatar audit of" in header_of(p["blocks"])
    )
    assert header_of(report["blocks"]).endswith("(cancelled)")
    rows, _ = report_files(fake)
    assert 0 < len(rows) < 300 - 21
    assert await audits(slack).unfinished("slack") == []
    # Pressing it again: the audit is over, and the person is told so.
    await press(slack, cancel, ADMIN, dm_of(ADMIN))
    await slack.settle()
    assert "no longer running" in texts(fake.responses[-1]["blocks"])


async def test_shutdown_mid_audit_keeps_results_and_resumes(slack: Harness) -> None:
    fake = slack.fake
    owners = populate(fake, total=300)
    fake.avatar_delay_s = 0.1
    await slack.command("/headshot-audit", user_id=ADMIN)
    await fake.wait_for("chat.update", 2)
    await slack.bridge.close()  # what a SIGTERM does: the audit stops, its results are kept
    (run,) = await audits(slack).unfinished("slack")
    kept = await audits(slack).store.run_results(run.id)
    assert 0 < len(kept) < 300 - 21
    fake.avatar_delay_s = 0
    # The next start resumes it; members already done are not downloaded again.
    assert await resume_unfinished(slack.bridge, FixedWorkspaces(slack.app.client, [TEAM_ID])) == 1
    await slack.settle()
    rows, _ = report_files(fake)
    assert len(rows) == 300 - 21
    assert len(fake.avatar_downloads) == len(owners)
    assert await audits(slack).unfinished("slack") == []


async def test_non_admin_is_refused(slack: Harness) -> None:
    fake = slack.fake
    populate(fake, total=50, plain=5)
    await audit(slack, user=PLAIN)
    assert "Only workspace admins and owners" in texts(fake.responses[-1]["blocks"])
    assert fake.calls_to("users.list") == [] and fake.avatar_downloads == []
    assert await audits(slack).unfinished("slack") == []
    # The moderators' user group counts only once configured.
    await audit(slack, user=MOD)
    assert fake.calls_to("users.list") == []
    await audits(slack).update_settings("slack", TEAM_ID, moderator_role=MODS_GROUP)
    await audit(slack, user=MOD)
    assert fake.calls_to("usergroups.users.list")[-1].params["usergroup"] == MODS_GROUP
    assert fake.calls_to("users.list")


async def test_an_install_without_the_new_scopes_is_explained(slack: Harness) -> None:
    fake = slack.fake
    populate(fake, total=30, plain=0)
    fake.fail("users.info", "missing_scope")
    await audit(slack)
    assert "users:read permission" in texts(fake.responses[-1]["blocks"])
    assert fake.calls_to("users.list") == []


async def test_report_goes_to_the_modlog_channel_or_falls_back_to_dm(slack: Harness) -> None:
    fake = slack.fake
    populate(fake, total=60, plain=5)
    await audits(slack).update_settings("slack", TEAM_ID, modlog_channel=MODLOG)
    await audit(slack)
    (report,) = posts_to(fake, MODLOG)
    assert header_of(report["blocks"]) == "Avatar audit of Fake Team"
    assert fake.calls_to("files.completeUploadExternal")[-1].params["channel_id"] == MODLOG

    fake.channel_errors[MODLOG] = "not_in_channel"
    await audit(slack)
    dm = posts_to(fake, dm_of(ADMIN))
    assert any("Invite me there" in texts(p["blocks"]) for p in dm)
    assert header_of(dm[-1]["blocks"]) == "Avatar audit of Fake Team"
    assert fake.calls_to("files.completeUploadExternal")[-1].params["channel_id"] == dm_of(ADMIN)


async def test_unfinished_audit_resumes_at_start_up(slack: Harness) -> None:
    fake = slack.fake
    owners = populate(fake, total=60, plain=5)
    service = audits(slack)
    # A run a restart interrupted: five members were already done.
    run = await service.store.create_run("slack", TEAM_ID, ADMIN, {})
    done = list(owners)[:5]
    await service.store.add_results(
        run.id, [AuditRow(u, "before", None, None, "no_evidence", None) for u in done]
    )
    # One started by someone who is no longer a moderator is not resumed.
    await service.store.create_run("slack", TEAM_ID, PLAIN, {})
    assert await resume_unfinished(slack.bridge, FixedWorkspaces(slack.app.client, [TEAM_ID])) == 1
    await slack.settle()
    assert posts_to(fake, dm_of(PLAIN)) == []
    rows, _ = report_files(fake)
    assert len(rows) == 60 - 1 - 20
    assert {r["member_name"] for r in rows if r["member_id"] in done} == {"before"}
    assert len(fake.avatar_downloads) == len(owners) - 5
    assert "resumed" in texts(fake.calls_to("chat.postMessage")[0].params["blocks"])
    assert await service.unfinished("slack") == []


async def test_only_new_members(slack: Harness) -> None:
    """Slack does not say when someone joined: "new" are the members no finished audit saw."""
    fake = slack.fake
    pics = pictures()
    populate(fake, total=60, plain=5)
    await audit(slack)
    first, _ = report_files(fake)
    newcomers = {"U0NEW00001": "xmp-ai1", "U0NEW00002": "camera1"}
    for uid, pic in newcomers.items():
        fake.add_user(uid, f"newcomer {pic}", pics[pic], avatar_name=f"{uid}-{pic}")
    downloads = len(fake.avatar_downloads)
    status, _ = await slack.command("/headshot-audit", "new", user_id=ADMIN)
    assert status == 200
    await slack.settle()
    rows, _ = report_files(fake)
    assert {r["member_id"] for r in rows} == set(newcomers) and len(first) == 60 - 1 - 20
    assert {r["member_id"]: r["verdict"] for r in rows} == {
        "U0NEW00001": "signals of AI generation",
        "U0NEW00002": "camera photo",
    }
    assert len(fake.avatar_downloads) == downloads + 2
    # Nobody new since: nothing to check, said in the progress message, and no report.
    uploads = len(fake.calls_to("files.completeUploadExternal"))
    await slack.command("/headshot-audit", "new", user_id=ADMIN)
    await slack.settle()
    last = fake.calls_to("chat.update")[-1].params
    assert "No member matched" in texts(last["blocks"]) and "only new members: yes" in texts(
        last["blocks"]
    )
    assert len(fake.calls_to("files.completeUploadExternal")) == uploads


async def test_report_withheld_when_the_requester_stops_moderating(slack: Harness) -> None:
    """The requester is asked again before delivery (an audit takes a while): a report about
    every member goes only to someone who still moderates."""
    fake = slack.fake
    populate(fake, total=300)
    fake.avatar_delay_s = 0.05
    await slack.command("/headshot-audit", user_id=ADMIN)
    await fake.wait_for("chat.update", 2)
    fake.users[ADMIN]["is_admin"] = False  # demoted while the audit runs
    await slack.settle()
    while await audits(slack).unfinished("slack"):
        await asyncio.sleep(0.1)
        await slack.settle()
    assert not [
        p for p in posts_to(fake, dm_of(ADMIN)) if "Avatar audit of" in header_of(p["blocks"])
    ]
    assert fake.calls_to("files.completeUploadExternal") == []
    (status,) = await audits(slack).store.fetch("SELECT status FROM audit_runs")
    assert status == ("cancelled",)


async def test_a_stopped_audit_is_continued(slack: Harness) -> None:
    fake = slack.fake
    owners = populate(fake, total=60, plain=5)
    service = audits(slack)
    # An audit that stopped on an error (nothing running it in this process).
    run = await service.store.create_run("slack", TEAM_ID, ADMIN, {})
    done = list(owners)[:5]
    await service.store.add_results(
        run.id, [AuditRow(u, "before", None, None, "no_evidence", None) for u in done]
    )
    await audit(slack)
    rows, _ = report_files(fake)
    assert len(rows) == 60 - 1 - 20
    assert {r["member_name"] for r in rows if r["member_id"] in done} == {"before"}
    assert len(fake.avatar_downloads) == len(owners) - 5
    assert "resumed" in texts(fake.calls_to("chat.postMessage")[0].params["blocks"])
    assert await service.unfinished("slack") == []


# -- settings ---------------------------------------------------------------------------------
async def test_settings_command(slack: Harness) -> None:
    fake = slack.fake
    populate(fake, total=40, plain=0)

    async def settings(text: str, user: str = ADMIN) -> str:
        await slack.command("/headshot-settings", text, user_id=user)
        await slack.settle()
        return texts(fake.responses[-1]["blocks"])

    shown = await settings("")
    assert "Watch mode: off" in shown and "/headshot-settings modlog" in shown
    assert "Saved" in await settings(f"modlog <#{MODLOG}|mod-log>")
    assert "Saved" in await settings("watch on")
    assert "Saved" in await settings("strength strong")
    assert "Saved" in await settings("retention 7")
    shown = await settings(f"moderators <!subteam^{MODS_GROUP}|@mods>")
    assert f"Mod-log channel: {MODLOG}" in shown and "Watch mode: on" in shown
    assert "strong" in shown and "7 days" in shown and MODS_GROUP in shown
    prefs = await audits(slack).server_settings("slack", TEAM_ID)
    assert (prefs.modlog_channel, prefs.watch, prefs.min_strength) == (MODLOG, True, "strong")
    assert (prefs.retention_days, prefs.moderator_role) == (7, MODS_GROUP)
    assert "Choose one of" in await settings("strength certain")
    # A member of the moderators' group may change them; anyone else may not.
    assert "Saved" in await settings("watch off", user=MOD)
    assert "Only workspace admins" in await settings("watch on", user=PLAIN)
    assert not (await audits(slack).server_settings("slack", TEAM_ID)).watch


async def test_only_admins_change_who_moderates(slack: Harness) -> None:
    """A moderator-group member must not hand the role on (or take it from the group)."""
    fake = slack.fake
    populate(fake, total=40, plain=0)
    fake.usergroups["S0FRIENDS1"] = [MOD, PLAIN]
    await audits(slack).update_settings("slack", TEAM_ID, moderator_role=MODS_GROUP)

    async def settings(text: str, user: str) -> str:
        await slack.command("/headshot-settings", text, user_id=user)
        await slack.settle()
        return texts(fake.responses[-1]["blocks"])

    for change in ("moderators <!subteam^S0FRIENDS1|@friends>", "moderators off"):
        shown = await settings(change, MOD)
        assert "Only workspace admins and owners can change who moderates" in shown
        prefs = await audits(slack).server_settings("slack", TEAM_ID)
        assert prefs.moderator_role == MODS_GROUP
    assert "Saved" in await settings("strength strong", MOD)  # other settings: still allowed
    assert "Saved" in await settings("moderators <!subteam^S0FRIENDS1|@friends>", ADMIN)
    assert (await audits(slack).server_settings("slack", TEAM_ID)).moderator_role == "S0FRIENDS1"


def test_parse_settings() -> None:
    assert parse_settings("") is None and parse_settings("show") is None
    assert parse_settings("modlog <#C0ABC123|mods>") == {"modlog_channel": "C0ABC123"}
    assert parse_settings("modlog here", "C0HERE1") == {"modlog_channel": "C0HERE1"}
    assert parse_settings("modlog off") == {"modlog_channel": None}
    assert parse_settings("watch ON") == {"watch": True}
    assert parse_settings("retention 0") == parse_settings("retention x") != {}
    assert parse_settings("retention 14") == {"retention_days": 14.0}
    assert parse_settings("moderators <!subteam^S0AB12|@mods>") == {"moderator_role": "S0AB12"}
    assert isinstance(parse_settings("modlog general"), str)
    assert isinstance(parse_settings("volume 11"), str)


def test_to_member() -> None:
    fake = FakeSlack()
    fake.port = 1
    custom = to_member(fake.add_user("U1", "Ann", b"x"))
    assert custom == Member("U1", "Ann", "http://127.0.0.1:1/avatars/U1.img", "hu1")
    assert to_member(fake.add_user("U2", "Bob")) == Member("U2", "Bob", None, None)
    assert to_member(fake.add_user("U3", "Bot", b"x", is_bot=True)) is None
    assert to_member(fake.add_user("U4", "Gone", b"x", deleted=True)) is None


# -- watch mode ------------------------------------------------------------------------------
def user_change(h: Harness, uid: str) -> dict[str, Any]:
    return {"type": "user_change", "user": h.fake.users[uid], "event_ts": f"{time.time():.6f}"}


async def test_watch_mode_notes_a_changed_avatar_in_the_modlog(slack: Harness) -> None:
    fake = slack.fake
    pics = pictures()
    populate(fake, total=40, plain=0)
    fake.add_user("U0NEWAI001", "Newcomer", pics["plain3"])
    assert await slack.event(user_change(slack, "U0NEWAI001")) == 200
    await slack.settle()
    assert fake.avatar_downloads == []  # watch mode is off by default

    await audits(slack).update_settings("slack", TEAM_ID, watch=True, modlog_channel=MODLOG)
    await slack.event(user_change(slack, "U0NEWAI001"))  # an ordinary picture: no note
    await slack.settle()
    assert len(fake.avatar_downloads) == 1 and posts_to(fake, MODLOG) == []

    # The member changes their avatar to an AI picture: a note with a Details button.
    fake.add_user("U0NEWAI001", "Newcomer", pics["xmp-ai0"], avatar_name="new", avatar_hash="h2")
    await slack.event(user_change(slack, "U0NEWAI001"))
    await slack.settle()
    (note,) = posts_to(fake, MODLOG)
    assert header_of(blocks_of(note)) == "Avatar note: Newcomer"
    assert "No action was taken" in texts(blocks_of(note))
    details = buttons(blocks_of(note))["Details"]
    # One id format for both platforms (bot/core/buttons.py): the same as Discord's notes.
    assert details == "hc:note:U0NEWAI001" and parse_button_id(details) == ("U0NEWAI001", "note")

    # A status or name change (same avatar) is not checked again.
    downloads = len(fake.avatar_downloads)
    await slack.event(user_change(slack, "U0NEWAI001"))
    await slack.settle()
    assert len(fake.avatar_downloads) == downloads and len(posts_to(fake, MODLOG)) == 1

    # Details: privately to a moderator who presses it, refused to anyone else.
    await press(slack, details, ADMIN, MODLOG)
    await slack.settle()
    shown = fake.calls_to("chat.postEphemeral")[-1].params
    assert (shown["channel"], shown["user"]) == (MODLOG, ADMIN)
    assert "signals of AI generation" in texts(shown["blocks"])
    assert "trainedAlgorithmicMedia" in texts(shown["blocks"])
    await press(slack, details, PLAIN, MODLOG)
    await slack.settle()
    assert "Only workspace admins" in texts(
        fake.calls_to("chat.postEphemeral")[-1].params["blocks"]
    )


async def test_watch_mode_notes_a_joiner_sharing_an_avatar(slack: Harness) -> None:
    fake = slack.fake
    pics = pictures()
    populate(fake, total=40, plain=0)
    await audits(slack).update_settings("slack", TEAM_ID, watch=True, modlog_channel=MODLOG)
    for i in range(2):
        user = fake.add_user(f"U0SOCK{i:04d}", f"sock {i}", pics["shared"], avatar_name="shared")
        await slack.event({"type": "team_join", "user": user})
        await slack.settle()
    (note,) = posts_to(fake, MODLOG)
    assert "near-identical avatar is used by 1 other members" in texts(note["blocks"])


# -- forget and retention ------------------------------------------------------------------------
async def test_forget_self_and_by_a_moderator(slack: Harness) -> None:
    fake = slack.fake
    pics = pictures()
    populate(fake, total=40, plain=0)
    service = audits(slack)
    await service.update_settings("slack", TEAM_ID, watch=True, modlog_channel=MODLOG)
    for uid in (PLAIN, "U0BOB00001"):
        fake.add_user(uid, uid, pics["xmp-ai1"], avatar_name=f"{uid}.png")
        await slack.event(user_change(slack, uid))
    await slack.settle()
    assert await service.store.member_avatar_sha("slack", TEAM_ID, PLAIN) is not None

    await slack.command("/headshot-forget", user_id=PLAIN)
    await slack.settle()
    assert "I deleted" in texts(fake.responses[-1]["blocks"])
    assert await service.store.member_avatar_sha("slack", TEAM_ID, PLAIN) is None

    await slack.command("/headshot-forget", "<@U0BOB00001|bob>", user_id=PLAIN)
    await slack.settle()
    assert "Only workspace admins" in texts(fake.responses[-1]["blocks"])
    assert await service.store.member_avatar_sha("slack", TEAM_ID, "U0BOB00001") is not None
    await slack.command("/headshot-forget", "<@U0BOB00001|bob>", user_id=ADMIN)
    await slack.settle()
    assert "U0BOB00001" in texts(fake.responses[-1]["blocks"])
    assert await service.store.member_avatar_sha("slack", TEAM_ID, "U0BOB00001") is None
    # The mod-log note's Details button has nothing left to show (one posted before the ids
    # were one format, hc:auditnote:…, is still understood).
    await press(slack, button_id("U0BOB00001", "auditnote"), ADMIN, MODLOG)
    await slack.settle()
    shown = texts(fake.calls_to("chat.postEphemeral")[-1].params["blocks"])
    assert "Nothing is stored about this member" in shown


async def test_retention_job_honours_each_workspaces_setting(tmp_path) -> None:
    from bot.adapters.slack import retention_loop

    store = await SQLiteStore.open(tmp_path / "r.sqlite3")
    service = AuditService(store, AnalysisPool(inline=True), Settings(_env_file=None))
    try:
        await service.update_settings("slack", "T_SHORT", retention_days=1)
        runs = {}
        for team in ("T_SHORT", "T_LONG"):
            runs[team] = await store.create_run("slack", team, "U1", {})
            await store.add_results(
                runs[team].id, [AuditRow("U9", "x", None, None, "no_evidence", None)]
            )
            await store.update_run(runs[team].id, status="done")
        two_days_ago = time.time() - 2 * 86400
        await store.execute("UPDATE audit_results SET created_at = ?", two_days_ago)
        await store.execute("UPDATE audit_runs SET created_at = ?", two_days_ago)
        task = asyncio.create_task(
            retention_loop(service, 0.01, FixedWorkspaces(AsyncWebClient(), ["T_SHORT", "T_LONG"]))
        )
        await asyncio.sleep(0.1)
        task.cancel()
        assert await store.run_results(runs["T_SHORT"].id) == []
        assert len(await store.run_results(runs["T_LONG"].id)) == 1  # default: 30 days
    finally:
        await store.close()
