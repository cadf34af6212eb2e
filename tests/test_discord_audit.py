"""End-to-end: the moderator audit, settings, watch mode and forget on Discord, through the real
discord.py client against the local fake Discord (tests/fakes/discord_fake.py): a guild of 2,000
members delivered by gateway member chunking, avatars served by the fake CDN, a real process
pool and a real SQLite file (kept across a bot restart)."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.adapters.discord import MEMBERS_INTENT_REFUSED, HeadshotBot, configure_endpoints
from bot.audit.audit_service import AuditService
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import DiscordSettings, Settings, get_settings
from bot.store import AuditRow
from bot.store.sqlite import SQLiteStore
from tests.c2pa_fixtures import ai_manifest, sign_jpeg
from tests.fakes.discord_fake import MANAGE_GUILD, MODERATOR_PERMISSIONS, FakeDiscord, Sent
from tests.metadata_fixtures import phone_exif, xmp_packet

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "fake-discord-token-for-tests"
GUILD_SIZE = 2000
AI_WORDS = "signals of AI generation"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


# -- avatars: small (64 px) pictures whose perceptual hashes differ by seed ------------------
def grid(seed: int, size: int = 64) -> Image.Image:
    rnd = random.Random(seed)
    im = Image.new("RGB", (8, 8))
    im.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(64)])
    return im.resize((size, size), Image.Resampling.NEAREST)


def encode(im: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def plain_png(seed: int) -> bytes:
    return encode(grid(seed), "PNG")


def camera_jpeg(seed: int) -> bytes:
    return encode(grid(seed), "JPEG", quality=90, exif=phone_exif(gps=None, serial=None))


def xmp_ai_png(seed: int) -> bytes:
    """IPTC DigitalSourceType trainedAlgorithmicMedia in XMP, as generators write it."""
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet({"Iptc4xmpExt:DigitalSourceType": TRAINED}))
    return encode(grid(seed), "PNG", pnginfo=info)


def a1111_png(seed: int) -> bytes:
    """A PNG as AUTOMATIC1111 saves it (flagged only where a generator check exists)."""
    info = PngInfo()
    info.add_text("parameters", "headshot\nSteps: 30, Sampler: Euler a, Model: sd_xl_base_1.0")
    return encode(grid(seed), "PNG", pnginfo=info)


def c2pa_ai_jpeg(seed: int) -> bytes:
    """Content Credentials, really signed with c2pa-python, saying a trained model made it."""
    return sign_jpeg(ai_manifest(), encode(grid(seed), "JPEG", quality=90), "TestGen Labs")


# Members by kind: (count, avatar maker or None for the default avatar). The two "sock" kinds
# share one picture each (a wave of accounts with the same face), under different avatar ids.
# Many Discord members keep the default avatar; that also keeps the test quick (about 1,000
# distinct pictures to analyse).
KINDS: dict[str, tuple[int, Any]] = {
    "default": (900, None),
    "c2pa_ai": (20, c2pa_ai_jpeg),
    "xmp_ai": (30, xmp_ai_png),
    "a1111": (20, a1111_png),
    "camera": (150, camera_jpeg),
    "sock_ai": (30, lambda seed: xmp_ai_png(1_000_001)),
    "sock_plain": (20, lambda seed: plain_png(1_000_002)),
}
KINDS["plain"] = (GUILD_SIZE - sum(n for n, _ in KINDS.values()), plain_png)
EXPECTED = {
    "default": "default avatar (not checked)",
    "c2pa_ai": AI_WORDS,
    "xmp_ai": AI_WORDS,
    "camera": "camera photo",
    "sock_ai": AI_WORDS,
    "sock_plain": "no evidence either way",
    "plain": "no evidence either way",
}


def populate(fake: FakeDiscord) -> dict[str, list[str]]:
    """The guild: 2,000 members (plus one bot, which is never audited); member ids by kind."""
    artists = fake.add_role("artists")
    by_kind: dict[str, list[str]] = {}
    order = [(kind, i) for kind, (count, _) in KINDS.items() for i in range(count)]
    random.Random(1).shuffle(order)  # kinds mixed through the member list, as in a real server
    for seed, (kind, i) in enumerate(order, 1):
        make = KINDS[kind][1]
        roles = [artists["id"]] if kind in ("c2pa_ai", "plain") and i < 10 else []
        picture = make(seed) if make else None
        member = fake.add_guild_member(f"{kind}-{i}", picture, roles=roles)
        by_kind.setdefault(kind, []).append(member["user"]["id"])
    fake.add_guild_member("helper-bot", plain_png(99_999), bot=True)
    return by_kind | {"artists": [artists["id"]]}


# -- the bot, restartable on the same SQLite file -------------------------------------------
class Harness:
    def __init__(self, fake: FakeDiscord, settings: Settings, service: HeadshotService) -> None:
        self.fake = fake
        self.settings = settings
        self.service = service
        self.db = Path(settings.data_dir) / "headshot.sqlite3"
        self.bot: HeadshotBot | None = None

    async def start(self, **discord_changes: Any) -> HeadshotBot:
        d = self.settings.discord.model_copy(update=discord_changes)
        settings = self.settings.model_copy(update={"discord": d})
        self.store = await SQLiteStore.open(self.db)
        self.audits = AuditService(self.store, self.service.pool, settings)
        self.session = aiohttp.ClientSession()
        self.bot = HeadshotBot(
            service=self.service, session=self.session, settings=settings, audits=self.audits
        )
        self.task = asyncio.create_task(self.bot.start(TOKEN))
        ready = asyncio.create_task(self.bot.wait_until_ready())
        await asyncio.wait({self.task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():  # login or the gateway refused: raise what it raised
            ready.cancel()
            await self.bot.close()
            await self._close()
            self.task.result()
        return self.bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
            await asyncio.wait_for(self.task, 10)
            await self._close()

    async def _close(self) -> None:
        await self.session.close()
        await self.store.close()
        self.bot = None


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake():
    f = await FakeDiscord(heartbeat_interval_ms=1000).start_in_thread()
    f.modlog = f.add_text_channel("mod-log")
    f.mods_role = f.add_role("mods")
    f.kinds = await asyncio.to_thread(populate, f)
    yield f
    await f.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(fake: FakeDiscord, tmp_path_factory):
    base = get_settings()
    settings = fake.bot_settings(
        base, tmp_path_factory.mktemp("data"), members_intent=True, audit_avatar_size=64
    )
    settings.audit = base.audit.model_copy(update={"progress_interval_s": 0.25})
    service = HeadshotService(settings, pool=AnalysisPool(2, timeout_s=120))
    await service.pool.warm_up()
    h = Harness(fake, settings, service)
    await h.start()
    yield h
    await h.stop()
    service.close()
    configure_endpoints(DiscordSettings())  # discord.py keeps these process-wide


@pytest.fixture
def mod(fake: FakeDiscord) -> dict:
    return fake.user("moderator")


# -- helpers -----------------------------------------------------------------------------------
async def audit(fake: FakeDiscord, user: dict, *, role: str | None = None, only_new=None, **kw):
    options: list[dict[str, Any]] = []
    resolved: dict[str, Any] = {}
    if role:
        options.append({"name": "role", "type": 8, "value": role})
        resolved["roles"] = {r["id"]: r for r in fake.roles if r["id"] == role}
    if only_new is not None:
        options.append({"name": "only-new", "type": 5, "value": only_new})
    kw.setdefault("permissions", MODERATOR_PERMISSIONS)
    return await fake.slash("headshot-audit", user, options, resolved or None, **kw)


def followups(fake: FakeDiscord, inter: dict) -> list[Sent]:
    return [s for s in fake.replies_to(inter) if s.route == "followup"]


def edits(fake: FakeDiscord, inter: dict) -> list[Sent]:
    return [s for s in fake.replies_to(inter) if s.route == "edit"]


async def report_of(fake: FakeDiscord, inter: dict, timeout: float = 120) -> Sent:
    await fake.wait_until(lambda: followups(fake, inter), timeout, "the audit report")
    (report,) = followups(fake, inter)
    return report


def csv_rows(sent: Sent) -> dict[str, dict[str, str]]:
    files = dict(sent.files)
    rows = csv.DictReader(io.StringIO(files["headshot-audit.csv"].decode()))
    return {r["member_id"]: r for r in rows}


def flagged_ids(rows: dict[str, dict[str, str]]) -> set[str]:
    return {m for m, r in rows.items() if r["verdict"] == AI_WORDS}


def assert_safe(sent: Sent) -> None:
    assert sent.payload.get("allowed_mentions") == {"parse": []}
    assert not re.search(r"@(everyone|here)\b", sent.text())


def avatar_gets(fake: FakeDiscord) -> int:
    """Avatar downloads from the CDN: account avatars and server avatars."""
    return fake.cdn_gets("avatars/") + fake.cdn_gets("guilds/")


def modlog_sent(fake: FakeDiscord) -> list[Sent]:
    return fake.channel_sent(fake.modlog["id"])


# -- commands and refusals -----------------------------------------------------------------------
async def test_moderator_commands_registered(fake: FakeDiscord, harness: Harness) -> None:
    _scope, commands = fake.command_syncs[-1]
    by_name = {c["name"]: c for c in commands}
    for name in ("headshot-audit", "headshot-settings"):
        assert int(by_name[name]["default_member_permissions"]) == 32, name  # Manage Server
        assert by_name[name]["contexts"] == [0] and by_name[name]["integration_types"] == [0]
    options = {o["name"]: o for o in by_name["headshot-audit"]["options"]}
    assert options["role"]["type"] == 8 and options["only-new"]["type"] == 5
    assert "headshot-forget" in by_name
    assert harness.bot is not None and harness.bot.intents.members


async def test_audit_refused_without_permission(fake: FakeDiscord, harness: Harness) -> None:
    requests = len(fake.member_requests)
    inter = await audit(fake, fake.user("eve"), permissions=0)
    callback = await fake.wait_callback(inter)
    assert callback["type"] == 4 and callback["data"]["flags"] & 64  # ephemeral, at once
    assert "moderators only" in callback["data"]["embeds"][0]["title"].lower()
    await asyncio.sleep(0.2)
    assert len(fake.member_requests) == requests  # not even the member list was asked for


# -- the audit ------------------------------------------------------------------------------
async def test_audit_of_2000_members(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    downloads = avatar_gets(fake)
    started = time.monotonic()
    inter = await audit(fake, mod)
    assert await fake.wait_callback(inter) == {"type": 5, "data": {"flags": 64}}
    report = await report_of(fake, inter)
    elapsed = time.monotonic() - started
    kinds = fake.kinds
    with_avatar = GUILD_SIZE - len(kinds["default"])
    print(f"\naudit of {GUILD_SIZE} members: {elapsed:.1f} s ({GUILD_SIZE / elapsed:.0f}/s)")

    # Members came from gateway chunks (2 of them for 2,001 members).
    assert fake.member_requests and str(fake.member_requests[-1]["guild_id"]) == fake.guild_id
    # Progress: the deferred response edited with counts, an estimate and a Cancel button.
    progress = [e for e in edits(fake, inter) if "Checked" in e.text()]
    assert progress, [e.text() for e in edits(fake, inter)]
    assert any(re.search(r"Checked [\d,]+ of 2,000 avatars", e.text()) for e in progress)
    assert any("left" in e.text() for e in progress)
    cancel_ids = {c for e in progress for c in e.custom_ids}
    assert len(cancel_ids) == 1 and next(iter(cancel_ids)).startswith("hc:cancel:")
    final = edits(fake, inter)[-1]
    assert "finished" in final.text() and not final.custom_ids  # no Cancel left

    # The report: ephemeral, to the moderator who asked, with the CSV and the HTML.
    assert report.ephemeral
    assert_safe(report)
    assert "Avatar audit of" in report.embeds[0]["title"]
    assert [name for name, _ in report.files] == ["headshot-audit.csv", "headshot-audit.html"]
    rows = csv_rows(report)
    assert len(rows) == GUILD_SIZE  # the bot member is not audited
    for kind, verdict in EXPECTED.items():
        got = {rows[m]["verdict"] for m in kinds[kind]}
        assert got == {verdict}, (kind, got)
    assert all(rows[m]["strength"] in ("strong", "conclusive") for m in kinds["c2pa_ai"])
    groups = {kind: {rows[m]["duplicate_group"] for m in kinds[kind]} for kind in KINDS}
    assert len(groups["sock_ai"]) == 1 and len(groups["sock_plain"]) == 1
    assert groups["sock_ai"] != groups["sock_plain"] and "" not in groups["sock_ai"]
    assert groups["plain"] == groups["camera"] == groups["xmp_ai"] == {""}
    assert all(len(rows[m]["avatar_sha256"]) == 64 for m in kinds["plain"])
    page = dict(report.files)["headshot-audit.html"].decode()
    assert "Shared avatars (2 groups)" in page
    some = next(iter(rows))
    assert f'href="https://discord.com/users/{some}"' in page  # every member, linked
    assert page.count("data:image/jpeg;base64") >= len(flagged_ids(rows)) + 20
    assert "fake user" not in page.lower() and "fake account" not in page.lower()
    # Every avatar downloaded once, from the CDN; default avatars never.
    assert avatar_gets(fake) - downloads == with_avatar
    fake.first_rows = rows


async def test_reaudit_hits_the_cache(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    downloads = avatar_gets(fake)
    started = time.monotonic()
    report = await report_of(fake, await audit(fake, mod))
    elapsed = time.monotonic() - started
    rows = csv_rows(report)
    fetched = avatar_gets(fake) - downloads
    print(f"\nre-audit: {elapsed:.1f} s, {fetched} downloads")
    assert {m: r["verdict"] for m, r in rows.items()} == {
        m: r["verdict"] for m, r in fake.first_rows.items()
    }
    # Unchanged avatars are known by their avatar id: only flagged ones are fetched again (for
    # the report's thumbnails), none is analysed again.
    assert fetched == len(flagged_ids(rows))
    assert fetched < GUILD_SIZE / 10


async def test_role_and_only_new(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    (artists,) = fake.kinds["artists"]
    rows = csv_rows(await report_of(fake, await audit(fake, mod, role=artists)))
    assert len(rows) == 20 and len(flagged_ids(rows)) == 10
    # Two members join after the last finished audit: only they are checked.
    new = [fake.add_guild_member(f"newcomer-{i}", xmp_ai_png(5000 + i)) for i in range(2)]
    rows = csv_rows(await report_of(fake, await audit(fake, mod, only_new=True)))
    assert set(rows) == {m["user"]["id"] for m in new}
    assert flagged_ids(rows) == set(rows)
    # Nobody new since: nothing to check, and no report.
    inter = await audit(fake, mod, only_new=True)
    await fake.wait_until(lambda: any("No members" in e.text() for e in edits(fake, inter)), 10)
    assert "only new members: yes" in edits(fake, inter)[-1].text()
    assert not followups(fake, inter)


async def test_a_stopped_audit_is_continued(fake: FakeDiscord, harness: Harness, mod: dict):
    """An audit that stopped before the end (an error; nothing runs it in this process) is
    continued by the next one that asks the same; one that asked something else is dropped."""
    (artists,) = fake.kinds["artists"]
    store = harness.store
    other = await store.create_run("discord", fake.guild_id, mod["id"], {"only_new": True})
    stopped = await store.create_run(
        "discord", fake.guild_id, mod["id"], {"role": artists, "only_new": False, "since": None}
    )
    done = [m for m in fake.kinds["c2pa_ai"] if artists in fake.guild_members[m]["roles"]][:5]
    await store.add_results(
        stopped.id, [AuditRow(m, "before", None, None, "no_evidence", None) for m in done]
    )
    inter = await audit(fake, mod, role=artists)
    report = await report_of(fake, inter)
    rows = csv_rows(report)
    assert len(rows) == 20
    assert {rows[m]["member_name"] for m in done} == {"before"}  # kept, not checked again
    assert "resumed" in report.text()
    assert any("Avatar audit resumed" in e.text() for e in edits(fake, inter))
    statuses = dict(await store.fetch("SELECT id, status FROM audit_runs"))
    assert statuses[stopped.id] == "done" and statuses[other.id] == "cancelled"


async def test_member_list_not_sent_in_time(fake: FakeDiscord, harness: Harness, mod: dict):
    d = harness.bot.settings.discord  # type: ignore[union-attr]
    saved, d.audit_chunk_timeout_s = d.audit_chunk_timeout_s, 0.5
    fake.answer_member_requests = False
    try:
        inter = await audit(fake, mod)
        await fake.wait_until(
            lambda: any("member list" in e.text() for e in edits(fake, inter)[1:]), 10
        )
        assert "Nothing was checked" in edits(fake, inter)[-1].text()
        assert not followups(fake, inter)
    finally:
        fake.answer_member_requests = True
        d.audit_chunk_timeout_s = saved
    # The next audit asks Discord again (and is not refused as "already running").
    requests = len(fake.member_requests)
    (artists,) = fake.kinds["artists"]
    rows = csv_rows(await report_of(fake, await audit(fake, mod, role=artists)))
    assert len(fake.member_requests) == requests + 1 and len(rows) == 20


# -- settings, cancel and the mod-log ------------------------------------------------------------
async def settings_cmd(fake: FakeDiscord, user: dict, permissions: int, **values: Any) -> Sent:
    options, resolved = [], {}
    if "channel" in values:
        ch = values.pop("channel")
        options.append({"name": "modlog-channel", "type": 7, "value": ch["id"]})
        resolved["channels"] = {ch["id"]: ch | {"permissions": str(MODERATOR_PERMISSIONS)}}
    if "role" in values:
        role = values.pop("role")
        options.append({"name": "moderator-role", "type": 8, "value": role["id"]})
        resolved["roles"] = {role["id"]: role}
    types = {"watch": 5, "min-strength": 3, "retention-days": 4}
    options += [{"name": k, "type": types[k], "value": v} for k, v in values.items()]
    inter = await fake.slash(
        "headshot-settings", user, options, resolved or None, permissions=permissions
    )
    (sent,) = await fake.wait_replies(inter)
    return sent


async def test_settings(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    refused = await settings_cmd(fake, fake.user("eve"), 0, watch=True)
    assert "moderators only" in refused.text().lower()
    sent = await settings_cmd(
        fake, mod, MODERATOR_PERMISSIONS, channel=fake.modlog, watch=True, **{"retention-days": 7}
    )
    assert sent.ephemeral
    text = sent.text()
    assert f"<#{fake.modlog['id']}>" in text and "Watch mode: on" in text
    assert "Retention: 7 days" in text and "Minimum strength noted: moderate" in text
    prefs = await harness.audits.server_settings("discord", fake.guild_id)
    assert prefs.watch and prefs.modlog_channel == fake.modlog["id"]

    # A moderator role: its members may audit and change settings, not name the role.
    mods = fake.mods_role
    sent = await settings_cmd(fake, mod, MODERATOR_PERMISSIONS, role=mods)
    assert "Moderator role: mods" in sent.text() and "Integrations" in sent.text()
    helper = fake.user("helper")
    sent = await settings_cmd(fake, helper, 0, role=mods)
    assert "moderators only" in sent.text().lower()
    inter = await fake.slash("headshot-settings", helper, [], permissions=0, roles=[mods["id"]])
    (sent,) = await fake.wait_replies(inter)
    assert "Watch mode: on" in sent.text()


async def test_cancel_posts_partial_report_to_modlog(
    fake: FakeDiscord, harness: Harness, mod: dict
) -> None:
    # New avatar ids (same pictures): nothing is known by id, so each one is downloaded, from
    # a slow CDN, and the audit is still running when Cancel is pressed.
    fake.new_avatar_ids()
    fake.cdn_delay_s = 0.3
    posted = len(modlog_sent(fake))
    helper = fake.user("helper")  # has the moderator role, not Manage Server
    inter = await audit(fake, helper, permissions=0, roles=[fake.mods_role["id"]])
    await fake.wait_until(
        lambda: any(e.custom_ids for e in edits(fake, inter)), 30, "a progress edit"
    )
    progress = next(e for e in edits(fake, inter) if e.custom_ids)
    (cancel,) = progress.custom_ids
    refused = await fake.press(fake.user("eve"), cancel, progress)
    (no,) = await fake.wait_replies(refused)
    assert "moderators only" in no.text().lower()
    press = await fake.press(mod, cancel, progress, permissions=MODERATOR_PERMISSIONS)
    (ok,) = await fake.wait_replies(press)
    assert "Cancelling" in ok.text() and ok.ephemeral
    await fake.wait_until(lambda: len(modlog_sent(fake)) > posted, 30, "the report in mod-log")
    fake.cdn_delay_s = 0.0
    report = modlog_sent(fake)[-1]
    assert "(cancelled)" in report.embeds[0]["title"] and not report.ephemeral
    assert_safe(report)
    assert 0 < len(csv_rows(report)) < GUILD_SIZE
    await fake.wait_until(
        lambda: (
            "mod-log" in edits(fake, inter)[-1].text()
            or f"<#{fake.modlog['id']}>" in edits(fake, inter)[-1].text()
        ),
        10,
    )
    again = await fake.press(mod, cancel, progress, permissions=MODERATOR_PERMISSIONS)
    (late,) = await fake.wait_replies(again)
    assert "not running" in late.text()


# -- watch mode --------------------------------------------------------------------------------
async def test_watch_mode_notes_in_modlog(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    posted = len(modlog_sent(fake))
    member = fake.guild_members[fake.kinds["plain"][-1]]
    fake.change_avatar(member, xmp_ai_png(7000))
    await fake.member_update(member)
    await fake.wait_until(lambda: len(modlog_sent(fake)) > posted, 20, "a watch note")
    note = modlog_sent(fake)[-1]
    assert_safe(note)
    assert "Avatar note" in note.embeds[0]["title"] and "No action was taken" in note.text()
    assert note.custom_ids == [f"hc:note:{member['user']['id']}"]
    # A nickname change (same avatar) is no new picture: no second note.
    member["nick"] = "new nickname"
    await fake.member_update(member)
    # A plain new avatar is no reason for a note either.
    other = fake.guild_members[fake.kinds["plain"][-2]]
    fake.change_avatar(other, plain_png(7001))
    await fake.member_update(other)
    await asyncio.sleep(1.0)
    assert len(modlog_sent(fake)) == posted + 1
    # A server avatar (shown here instead of the account avatar) is what gets checked.
    nitro = fake.guild_members[fake.kinds["plain"][-3]]
    fake.set_server_avatar(nitro, c2pa_ai_jpeg(7003))
    gets = fake.cdn_gets("guilds/")
    await fake.member_update(nitro)
    await fake.wait_until(lambda: len(modlog_sent(fake)) > posted + 1, 20, "a server-avatar note")
    assert "Content Credentials" in modlog_sent(fake)[-1].text()
    assert fake.cdn_gets("guilds/") == gets + 1
    posted += 1
    # Two newcomers with one picture: the second joins a group of shared avatars.
    twins = [fake.add_guild_member(f"twin-{i}", plain_png(7002)) for i in range(2)]
    await fake.member_join(twins[0])
    await asyncio.sleep(0.5)
    await fake.member_join(twins[1])
    await fake.wait_until(lambda: len(modlog_sent(fake)) > posted + 1, 20, "a duplicate note")
    assert "1 other members" in modlog_sent(fake)[-1].text()
    assert len(modlog_sent(fake)) == posted + 2

    # Details: for moderators, rebuilt from storage.
    refused = await fake.press(fake.user("eve"), note.custom_ids[0], note)
    (no,) = await fake.wait_replies(refused)
    assert "moderators only" in no.text().lower()
    press = await fake.press(mod, note.custom_ids[0], note, permissions=MODERATOR_PERMISSIONS)
    (details,) = await fake.wait_replies(press)
    assert details.ephemeral and "Top evidence" in details.text()
    assert "DigitalSourceType" in details.text() and "No action was taken" in details.text()
    fake.watched = member


# -- forget ------------------------------------------------------------------------------------
async def test_forget(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    store, guild = harness.store, fake.guild_id
    member = fake.watched
    me = member["user"]
    assert await store.member_avatar_sha("discord", guild, me["id"])
    inter = await fake.slash("headshot-forget", me, [], guild=False)
    (sent,) = await fake.wait_replies(inter)
    assert "deleted" in sent.text()
    assert await store.member_avatar_sha("discord", guild, me["id"]) is None
    assert not await stored_rows(store, me["id"])
    # Someone else: moderators only, and only in their server.
    target = fake.guild_members[fake.kinds["camera"][0]]["user"]
    option = [{"name": "member", "type": 6, "value": target["id"]}]
    resolved = {"users": {target["id"]: target}}
    assert await stored_rows(store, target["id"])
    no = await fake.slash("headshot-forget", fake.user("eve"), option, resolved)
    assert "moderators only" in (await fake.wait_replies(no))[0].text().lower()
    assert await stored_rows(store, target["id"])
    yes = await fake.slash(
        "headshot-forget", mod, option, resolved, permissions=MODERATOR_PERMISSIONS
    )
    assert "deleted" in (await fake.wait_replies(yes))[0].text()
    assert not await stored_rows(store, target["id"])
    # The note's Details button now has nothing to show.
    note = next(s for s in modlog_sent(fake) if f"hc:note:{me['id']}" in s.custom_ids)
    press = await fake.press(mod, note.custom_ids[0], note, permissions=MODERATOR_PERMISSIONS)
    assert "No details stored" in (await fake.wait_replies(press))[0].text()


async def stored_rows(store: SQLiteStore, member_id: str) -> list:
    return await store.fetch("SELECT run_id FROM audit_results WHERE member_id = ?", member_id)


# -- the members intent ---------------------------------------------------------------------------
async def test_missing_members_intent_is_explained(
    fake: FakeDiscord, harness: Harness, mod: dict
) -> None:
    await harness.stop()
    await harness.start(members_intent=False)
    requests = len(fake.member_requests)
    inter = await audit(fake, mod)
    callback = await fake.wait_callback(inter)
    text = " ".join(
        f"{e.get('title', '')} {e.get('description', '')} "
        + " ".join(f["value"] for f in e.get("fields", []))
        for e in callback["data"]["embeds"]
    )
    assert "Server Members intent" in text and "Developer Portal" in text
    assert "members_intent = true" in text.replace("\\", "")  # shown markdown-escaped
    assert len(fake.member_requests) == requests
    sent = await settings_cmd(fake, mod, MODERATOR_PERMISSIONS)
    assert "needs the Server Members intent" in sent.text()
    await harness.stop()

    # The intent asked for but not switched on in the Developer Portal: Discord refuses.
    fake.members_intent_enabled = False
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await harness.start()
    finally:
        fake.members_intent_enabled = True
    assert "Server Members Intent" in MEMBERS_INTENT_REFUSED
    assert "Developer Portal" in MEMBERS_INTENT_REFUSED


# -- restart ----------------------------------------------------------------------------------
def make_member(fake: FakeDiscord, user: dict, roles: list[str] | None = None) -> None:
    """`user` joins the guild (no avatar of their own)."""
    member = fake.member(user, roles=roles)
    del member["permissions"]  # only interactions carry resolved permissions
    fake.guild_members[user["id"]] = member


async def test_restart_mid_audit_resumes(fake: FakeDiscord, harness: Harness, mod: dict) -> None:
    # The moderator is one by their role's Manage Server (checked again when resuming).
    managers = fake.add_role("managers", permissions=MANAGE_GUILD)
    make_member(fake, mod, roles=[managers["id"]])
    await harness.start()
    # No mod-log channel: the resumed report goes to the moderator who asked, by DM.
    clear = [{"name": "clear", "type": 3, "value": "modlog_channel"}]
    inter = await fake.slash("headshot-settings", mod, clear, permissions=MODERATOR_PERMISSIONS)
    assert "Mod-log channel: not set" in (await fake.wait_replies(inter))[0].text()
    fake.new_avatar_ids()  # again: every avatar is fetched
    fake.cdn_delay_s = 0.15
    inter = await audit(fake, mod)

    def done() -> int:
        counts = [
            int(m.group(1).replace(",", ""))
            for e in edits(fake, inter)
            if (m := re.search(r"Checked ([\d,]+) of", e.text()))
        ]
        return max(counts, default=0)

    await fake.wait_until(lambda: done() >= 300, 60, "300 avatars checked")
    await harness.stop()  # mid-audit: what was checked is stored, the run stays unfinished
    fake.cdn_delay_s = 0.0
    with sqlite3.connect(harness.db) as db:
        (run_id,) = db.execute("SELECT id FROM audit_runs WHERE status = 'running'").fetchone()
        (stored,) = db.execute(
            "SELECT COUNT(*) FROM audit_results WHERE run_id = ?", (run_id,)
        ).fetchone()
        (downloaded,) = db.execute(
            "SELECT COUNT(*) FROM audit_results WHERE run_id = ? AND label != 'default_avatar'",
            (run_id,),
        ).fetchone()
        # Old runs for the retention job to delete at start-up: past the global 30 days, and
        # past this server's 7 days (set in test_settings) but not 30.
        for run, server, days in (("old", "elsewhere", 400), ("week-old", fake.guild_id, 10)):
            old = time.time() - days * 86400
            db.execute(
                "INSERT INTO audit_runs (id, platform, server_id, requested_by, status, total, "
                "options, created_at) VALUES (?, 'discord', ?, 'x', 'done', 1, '{}', ?)",
                (run, server, old),
            )
            db.execute(
                "INSERT INTO audit_results (run_id, member_id, member_name, label, created_at) "
                "VALUES (?, '1', 'old', 'no_evidence', ?)",
                (run, old),
            )
    total = GUILD_SIZE + 5  # the newcomers and twins joined since, and the moderator
    assert 0 < downloaded < stored < total
    downloads = avatar_gets(fake)

    def dms() -> list[Sent]:
        return [s for s in fake.sent if s.route == "channel" and s.key in fake.dm_channels]

    await harness.start()  # a new bot on the same SQLite file resumes the run
    await fake.wait_until(dms, 120, "the resumed report")
    (report,) = dms()
    assert fake.dm_channels[report.key] == mod["id"]
    assert "restart" in report.text() and "(cancelled)" not in report.embeds[0]["title"]
    rows = csv_rows(report)
    assert len(rows) == total
    fetched = avatar_gets(fake) - downloads
    # Members checked before the restart are not fetched again.
    assert fetched == total - len(fake.kinds["default"]) - 1 - downloaded  # 1: the moderator
    with sqlite3.connect(harness.db) as db:
        assert db.execute("SELECT status FROM audit_runs WHERE id = ?", (run_id,)).fetchone() == (
            "done",
        )
        await fake.wait_until(
            lambda: (
                not db.execute(
                    "SELECT 1 FROM audit_runs WHERE id IN ('old', 'week-old')"
                ).fetchall()
            ),
            10,
            "the retention job",
        )


async def test_resumed_audit_is_cancelled_when_its_requester_is_no_moderator_any_more(
    fake: FakeDiscord, harness: Harness
) -> None:
    """After a restart there is no interaction to ask: the member's own permissions and
    roles decide. Someone who left, or lost Manage Server, gets no report about everyone."""
    demoted = fake.user("demoted")
    make_member(fake, demoted)  # still in the server, without Manage Server or the mods role
    gone = fake.user("gone")  # left the server
    for requester in (demoted, gone):
        await harness.stop()
        run_id = f"run-{requester['id']}"
        with sqlite3.connect(harness.db) as db:
            db.execute(
                "INSERT INTO audit_runs (id, platform, server_id, requested_by, status, total, "
                "options, created_at) VALUES (?, 'discord', ?, ?, 'running', 1, '{}', ?)",
                (run_id, fake.guild_id, requester["id"], time.time()),
            )
        sent_before = len(fake.sent)
        await harness.start()

        def status(run: str = run_id) -> str:
            with sqlite3.connect(harness.db) as db:
                return db.execute("SELECT status FROM audit_runs WHERE id = ?", (run,)).fetchone()[
                    0
                ]

        await fake.wait_until(lambda: status() != "running", 30, "the run's end")
        await asyncio.sleep(0.5)
        assert status() == "cancelled"
        assert fake.sent[sent_before:] == []  # no report, no DM


async def test_report_withheld_when_the_requester_stops_moderating(
    fake: FakeDiscord, harness: Harness, mod: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked again before delivery, as on Slack. Within its 15 minutes the interaction's own
    permissions answer; past them (as here) the member's roles are fetched again."""
    monkeypatch.setattr("bot.adapters.discord_moderation.INTERACTION_LIFE_S", 0)
    # The role the restart test made (the bot learnt of it when it started again).
    managers = next(r for r in fake.roles if r["name"] == "managers")
    make_member(fake, mod, roles=[managers["id"]])
    member = fake.guild_members[mod["id"]]
    roles = list(member["roles"])
    (artists,) = fake.kinds["artists"]
    fake.new_avatar_ids()
    fake.cdn_delay_s = 0.3
    try:
        inter = await audit(fake, mod, role=artists, permissions=0)
        assert await fake.wait_callback(inter) == {"type": 5, "data": {"flags": 64}}
        member["roles"] = []  # demoted while the audit runs
        await fake.wait_until(
            lambda: any("Checked 20 of 20" in e.text() for e in edits(fake, inter)), 60
        )
        await asyncio.sleep(1.0)
    finally:
        fake.cdn_delay_s = 0.0
        member["roles"] = roles
    assert not followups(fake, inter)
    (status,) = await harness.store.fetch(
        "SELECT status FROM audit_runs ORDER BY created_at DESC LIMIT 1"
    )
    assert status == ("cancelled",)
