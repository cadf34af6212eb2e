"""End-to-end: the real discord.py client, our cogs and the core, against a local fake Discord
(tests/fakes/discord_fake.py). No network: REST, gateway and CDN are all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import time
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.adapters.discord import HeadshotBot, configure_endpoints, invite_url
from bot.core.pool import AnalysisPool
from bot.core.reply import Action, Attachment, Reply, Section
from bot.core.service import HeadshotService
from bot.core.sessions import parse_button_id
from bot.settings import DiscordSettings, get_settings
from tests.conftest import busy_machine, jpeg_bytes, png_bytes
from tests.fakes.discord_fake import FakeDiscord, Sent

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "bot" / "analysis" / "checks"
HEARTBEAT_MS = 250
A1111 = (
    "professional headshot of a woman, @everyone **bold** <@&123456789012345678>, studio light\n"
    "Negative prompt: blurry\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, "
    "Model: sd_xl_base_1.0"
)


def has_check(*names: str) -> bool:
    return any((CHECKS / f"{n}.py").exists() for n in names)


# -- fixtures: one fake Discord and one bot for the module (starting a pool takes seconds) ----
@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake():
    f = await FakeDiscord(heartbeat_interval_ms=HEARTBEAT_MS).start_in_thread()
    yield f
    await f.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(fake: FakeDiscord, tmp_path_factory):
    settings = fake.bot_settings(get_settings(), tmp_path_factory.mktemp("data"))
    service = HeadshotService(settings, pool=AnalysisPool(2, timeout_s=120))
    await service.pool.warm_up()
    async with aiohttp.ClientSession() as session:
        client = HeadshotBot(service=service, session=session, settings=settings)
        task = asyncio.create_task(client.start("fake-discord-token-for-tests"))
        await asyncio.wait_for(client.wait_until_ready(), 30)
        yield client
        await client.close()
        await asyncio.wait_for(task, 10)
    service.close()
    configure_endpoints(DiscordSettings())  # discord.py keeps these process-wide


@pytest.fixture
def alice(fake: FakeDiscord) -> dict:
    return fake.user("alice")


def ai_png() -> bytes:
    """A PNG as AUTOMATIC1111 saves it: generation parameters in a `parameters` text chunk."""
    info = PngInfo()
    info.add_text("parameters", A1111)
    buf = io.BytesIO()
    Image.new("RGB", (512, 512), (140, 110, 90)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def camera_jpeg() -> bytes:
    piexif = pytest.importorskip("piexif")
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS R6"},
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:00:00",
                piexif.ExifIFD.ExposureTime: (1, 125),
                piexif.ExifIFD.FNumber: (28, 10),
            },
        }
    )
    return jpeg_bytes((800, 600), exif=exif)


def assert_safe(sent: Sent) -> None:
    """Mentions off and nothing pings: the contract for every message the bot sends."""
    assert sent.payload.get("allowed_mentions") == {"parse": []}
    text = sent.text()
    assert not re.search(r"@(everyone|here)\b", text), text


def only(sent: list[Sent]) -> Sent:
    assert len(sent) == 1, [s.text() for s in sent]
    return sent[0]


# -- start-up -----------------------------------------------------------------------------
async def test_login_sync_and_user_install(fake: FakeDiscord, bot: HeadshotBot) -> None:
    assert fake.identifies >= 1
    assert bot.synced is True
    scope, commands = fake.command_syncs[0]
    assert scope == "global"
    by_name = {c["name"]: c for c in commands}
    assert {"headshot-check", "headshot-ask", "headshot-disclose", "headshot-help"} <= set(by_name)
    assert by_name["Check headshot"]["type"] == 3  # message context menu
    assert by_name["Check avatar"]["type"] == 2  # user context menu
    for c in commands:  # installable on servers and accounts, usable in DMs
        assert sorted(c["integration_types"]) == [0, 1], c["name"]
        assert sorted(c["contexts"]) == [0, 1, 2], c["name"]
    image = next(o for o in by_name["headshot-check"]["options"] if o["name"] == "image")
    assert image["type"] == 11 and image["required"]
    assert fake.unknown == []


async def test_no_resync_when_unchanged_and_dev_guild(fake: FakeDiscord, bot: HeadshotBot):
    syncs = len(fake.command_syncs)
    assert await bot.sync_commands() is False
    assert len(fake.command_syncs) == syncs
    d = bot.settings.discord
    d.dev_guild_id = int(fake.guild_id)
    try:
        assert await bot.sync_commands() is True
        assert fake.command_syncs[-1][0] == fake.guild_id
        assert await bot.sync_commands() is False
    finally:
        d.dev_guild_id = None
        bot.tree.clear_commands(guild=__import__("discord").Object(int(fake.guild_id)))


async def test_invite_url(bot: HeadshotBot) -> None:
    # No application id in settings and no real token: it explains what to set.
    with pytest.raises(ValueError, match="application_id"):
        invite_url(bot.settings.model_copy(update={"discord": bot.settings.discord}))
    settings = bot.settings.model_copy(
        update={"discord": bot.settings.discord.model_copy(update={"application_id": 42})}
    )
    server, account = invite_url(settings).splitlines()
    assert "client_id=42" in server and "integration_type=0" in server
    assert "scope=bot+applications.commands" in server and "permissions=51200" in server
    assert "integration_type=1" in account and "scope=applications.commands" in account
    assert "permissions" not in account


# -- /headshot-check --------------------------------------------------------------------------
async def test_slash_ai_png(fake: FakeDiscord, bot: HeadshotBot, alice: dict) -> None:
    att = fake.attachment("portrait.png", ai_png(), "image/png")
    inter = await fake.check_attachment(alice, att, context="linkedin")
    # Deferred at once, ephemeral.
    assert await fake.wait_callback(inter) == {"type": 5, "data": {"flags": 64}}
    sent = only(await fake.wait_replies(inter))
    assert sent.ephemeral
    assert_safe(sent)
    embed = sent.embeds[0]
    assert "portrait.png" in embed["title"]
    ids = [parse_button_id(c) for c in sent.custom_ids]
    assert ("details" in [n for _, n in ids]) and all(ids)
    # The media proxy (proxy_url) was never used, the CDN url was.
    assert ("GET", f"/cdn/attachments/{fake.channel_id}/{att['id']}/portrait.png") in fake.requests
    assert not any("media.invalid" in p for _, p in fake.requests)
    if has_check("generators"):
        assert "AI-generated" in embed["title"]
        assert embed["color"] == bot.settings.discord.colours["ai_generated"]
        assert any(n == "disclosure" for _, n in ids)


async def test_slash_c2pa_signed_ai_photo(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    fixtures = pytest.importorskip("tests.c2pa_fixtures")
    data = fixtures.signed_ai_jpeg()
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    att = fake.attachment("signed.jpg", data, "image/jpeg")
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, att)))
    assert_safe(sent)
    assert "signed.jpg" in sent.embeds[0]["title"]
    if has_check("c2pa", "provenance"):
        assert "AI-generated" in sent.embeds[0]["title"]


async def test_slash_camera_jpeg_public(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    att = fake.attachment("IMG_0042.jpg", camera_jpeg(), "image/jpeg")
    inter = await fake.check_attachment(alice, att, public=True)
    assert await fake.wait_callback(inter) == {"type": 5}  # public: not ephemeral
    sent = only(await fake.wait_replies(inter))
    assert not sent.ephemeral
    assert_safe(sent)
    text = sent.text()
    assert "IMG\\_0042.jpg" in sent.embeds[0]["title"]  # markdown-escaped file name
    # This JPEG kept its EXIF (the camera data was read): "Discord removes EXIF" would be
    # untrue here (issue 15, item 5). A JPEG without EXIF gets the note: see below.
    assert "Discord removes EXIF" not in text
    if has_check("camera", "exif", "metadata"):
        assert "AI-generated" not in sent.embeds[0]["title"]


async def test_public_result_keeps_privacy_findings_for_the_sender(
    fake: FakeDiscord, bot: HeadshotBot, alice: dict
):
    """`public:true` shows the verdict to the channel, but GPS and serial numbers go to the
    sender alone (ephemeral), and the public Details button does not reveal them."""
    from tests.metadata_fixtures import phone_exif

    exif = phone_exif(gps=(51.50722, -0.12750), serial="F2LXK9ABCD12")
    att_data = jpeg_bytes((400, 300), exif=exif)
    att = fake.attachment("me.jpg", att_data, "image/jpeg")
    inter = await fake.check_attachment(alice, att, public=True)
    sent = await fake.wait_replies(inter, count=2)
    public = [s for s in sent if not s.ephemeral]
    private = [s for s in sent if s.ephemeral]
    assert public and private, [s.text() for s in sent]
    for s in public:
        assert "51.5" not in s.text() and "ABCD12" not in s.text()
        assert "The photo records" not in s.text()
        assert not any(":strip:" in c for c in s.custom_ids)
    assert "51.5" in private[0].text() and any(":strip:" in c for c in private[0].custom_ids)
    details = next(c for c in public[0].custom_ids if ":details:" in c)
    page = only(await fake.wait_replies(await fake.press(fake.user("bob"), details, public[0])))
    assert "51.5" not in page.text() and "ABCD12" not in page.text()


async def test_slash_non_image(fake: FakeDiscord, bot: HeadshotBot, alice: dict) -> None:
    att = fake.attachment("notes.txt", b"just some text, not a photo", "text/plain")
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, att)))
    embed = sent.embeds[0]
    assert "notes.txt" in embed["title"]
    assert "not an image" in embed["description"]
    assert embed["color"] == bot.settings.discord.colours["error"]
    assert not sent.custom_ids


async def test_download_failures_are_reported(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    gone = fake.attachment("gone.png", png_bytes(), "image/png")
    gone["url"] = gone["url"].replace("gone.png", "missing.png")
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, gone)))
    assert "gone.png" in sent.embeds[0]["title"] and "gone" in sent.embeds[0]["description"]
    elsewhere = fake.attachment("x.png", png_bytes(), "image/png")
    elsewhere["url"] = "http://198.51.100.7/x.png"  # not an allowed host: never fetched
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, elsewhere)))
    assert "only download files from the platform" in sent.embeds[0]["description"]
    huge = fake.attachment("huge.png", png_bytes(), "image/png")
    huge["size"] = bot.settings.limits.max_bytes + 1  # refused before downloading
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, huge)))
    assert "MB limit" in sent.embeds[0]["description"]
    assert not any(p.endswith("/huge.png") for _, p in fake.requests)


async def test_adapter_failure_becomes_apology_with_error_id(
    fake: FakeDiscord, bot: HeadshotBot, alice: dict, monkeypatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("simulated adapter bug")

    monkeypatch.setattr(bot, "fetch_images", broken)
    att = fake.attachment("a.png", png_bytes(), "image/png")
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, att)))
    match = re.search(r"error id: ([0-9a-f]{8})", sent.embeds[0]["description"])
    assert match and sent.ephemeral
    assert any(match.group(1) in r.getMessage() for r in caplog.records)


async def test_mention_injection_in_filename_and_prompt(
    fake: FakeDiscord, bot: HeadshotBot, alice: dict
):
    att = fake.attachment("@everyone **free nitro**.png", ai_png(), "image/png")
    inter = await fake.check_attachment(alice, att, public=True)
    sent = only(await fake.wait_replies(inter))
    assert_safe(sent)
    title = sent.embeds[0]["title"]
    assert "\\*\\*" in title or "__" in title or "free" in title  # escaped or sanitised
    assert "**free" not in title
    # The prompt (with @everyone) may appear in the details: press the button and check too.
    details = next(c for c in sent.custom_ids if ":details:" in c)
    page = only(await fake.wait_replies(await fake.press(alice, details, sent)))
    assert_safe(page)
    if has_check("generators"):
        assert "everyone" in page.text()  # shown, but defused


async def test_parameters_button_sends_them_in_full_with_a_text_file(
    fake: FakeDiscord, bot: HeadshotBot, alice: dict
):
    """Issue 15, item 2: the generation parameters behind a button, as a file when long."""
    prompt = "studio portrait of a @everyone founder, " * 50
    info = PngInfo()
    info.add_text("parameters", A1111.replace(A1111.split("\n", 1)[0], prompt))
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (140, 110, 90)).save(buf, "PNG", pnginfo=info)
    sent = only(
        await fake.wait_replies(
            await fake.check_attachment(
                alice, fake.attachment("g.png", buf.getvalue(), "image/png")
            )
        )
    )
    if not has_check("generators"):
        pytest.skip("the generators check is off")
    button = next(c for c in sent.custom_ids if ":parameters:" in c)
    page = only(await fake.wait_replies(await fake.press(alice, button, sent)))
    assert_safe(page)
    assert "Negative prompt" in page.text()
    ((name, data),) = page.files
    assert name.endswith(".txt") and prompt.strip().encode() in data


async def test_rate_limit_is_friendly(fake: FakeDiscord, bot: HeadshotBot) -> None:
    eve = fake.user("eve")
    limiter = bot.service.limiter
    saved, limiter.per_minute = limiter.per_minute, 1
    try:
        first = fake.attachment("one.png", png_bytes((90, 90)), "image/png")
        only(await fake.wait_replies(await fake.check_attachment(eve, first)))
        second = fake.attachment("two.png", png_bytes((91, 91)), "image/png")
        sent = only(await fake.wait_replies(await fake.check_attachment(eve, second)))
    finally:
        limiter.per_minute = saved
    assert "Slow down" in sent.embeds[0]["title"] and sent.ephemeral
    assert sent.embeds[0]["color"] == bot.settings.discord.colours["warning"]


# -- buttons ----------------------------------------------------------------------------------
async def test_buttons_details_disclosure_strip(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    att = fake.attachment("face.png", png_bytes((300, 300)), "image/png")
    sent = only(await fake.wait_replies(await fake.check_attachment(alice, att)))
    details = next(c for c in sent.custom_ids if ":details:" in c)
    inter = await fake.press(alice, details, sent)
    assert (await fake.wait_callback(inter))["type"] == 5
    page = only(await fake.wait_replies(inter))
    assert page.ephemeral and "All findings" in page.text() and "SHA-256" in page.text()

    # Disclosure and strip buttons appear only with AI or privacy findings; drive them with a
    # reply of that shape through the same cache and handler.
    stripped = Attachment("face-clean.png", png_bytes((10, 10)), "Copy without metadata")
    reply = Reply(
        title="t",
        pages={"disclosure": [Section("Caption", ["Photo made with an AI tool."])]},
        offers={"strip": stripped},
        actions=[Action("disclosure", "Disclosure text"), Action("strip", "Strip metadata")],
    )
    token = bot.replies.put(reply)
    page = only(await fake.wait_replies(await fake.press(alice, f"hc:disclosure:{token}", sent)))
    assert "Photo made with an AI tool." in page.text()
    page = only(await fake.wait_replies(await fake.press(alice, f"hc:strip:{token}", sent)))
    assert page.files == [("face-clean.png", stripped.data)]
    assert page.embeds[0]["image"]["url"] == "attachment://face-clean.png"

    expired = only(await fake.wait_replies(await fake.press(alice, "hc:details:nope", sent)))
    assert "expired" in expired.text()


# -- context menus -----------------------------------------------------------------------------
async def wait_results(fake: FakeDiscord, inter: dict, *names: str) -> list[Sent]:
    """The replies to `inter` once every named photo's result is among them: each photo's
    result may come in a message of its own, so the first reply is not enough."""

    def titles() -> list[str]:
        return [e["title"] for s in fake.replies_to(inter) for e in s.embeds if e.get("title")]

    await fake.wait_until(
        lambda: all(any(n in t for t in titles()) for n in names), 30.0, f"results {names}"
    )
    return fake.replies_to(inter)


async def test_message_menu_checks_every_image(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    bob = fake.user("bob")
    atts = [
        fake.attachment("one.png", png_bytes((200, 200), (10, 20, 30)), "image/png"),
        fake.attachment("two.jpg", jpeg_bytes((200, 200), (30, 20, 10)), "image/jpeg"),
        fake.attachment("cv.pdf", b"%PDF-1.4 not a photo", "application/pdf"),
    ]
    message = fake.channel_message(bob, "my new headshots", atts)
    inter = await fake.message_menu(alice, message)
    assert await fake.wait_callback(inter) == {"type": 5, "data": {"flags": 64}}
    sent = await wait_results(fake, inter, "one.png", "two.jpg")
    titles = [e["title"] for s in sent for e in s.embeds if e.get("title")]
    assert not any("cv.pdf" in t for t in titles)  # not an image: skipped
    assert all(s.ephemeral for s in sent)
    for s in sent:
        assert_safe(s)


async def test_message_menu_jpeg_note_only_on_jpegs(
    fake: FakeDiscord, bot: HeadshotBot, alice: dict
):
    """ "Discord removes EXIF from JPEGs" belongs under the JPEG's result, not the PNG's."""
    atts = [
        fake.attachment("art.png", png_bytes((200, 200), (90, 20, 30)), "image/png"),
        fake.attachment("cam.jpg", jpeg_bytes((200, 200), (30, 20, 90)), "image/jpeg"),
    ]
    message = fake.channel_message(fake.user("bob"), "two pictures", atts)
    inter = await fake.message_menu(alice, message)
    sent = await wait_results(fake, inter, "art.png", "cam.jpg")
    embeds = {e["title"]: e for s in sent for e in s.embeds if e.get("title")}
    png = next(e for t, e in embeds.items() if "art.png" in t)
    jpg = next(e for t, e in embeds.items() if "cam.jpg" in t)
    as_text = lambda e: str(e.get("fields"))  # noqa: E731
    assert "Discord removes EXIF" in as_text(jpg)
    assert "Discord removes EXIF" not in as_text(png)


async def test_message_menu_without_images(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    message = fake.channel_message(fake.user("bob"), "no pictures here")
    sent = only(await fake.wait_replies(await fake.message_menu(alice, message)))
    assert "No photo found" in sent.embeds[0]["title"]


async def test_user_menu_checks_avatar(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    carol = fake.user("carol")
    fake.set_avatar(carol, png_bytes((128, 128), (200, 150, 120)))
    inter = await fake.user_menu(alice, carol)
    sent = only(await fake.wait_replies(inter))
    assert sent.ephemeral
    assert "avatar-carol.png" in sent.embeds[0]["title"]
    assert "re-encodes avatars" in sent.text()
    assert ("GET", f"/cdn/avatars/{carol['id']}/{carol['avatar']}.png") in fake.requests


# -- other commands ----------------------------------------------------------------------------
async def test_ask_disclose_help(fake: FakeDiscord, bot: HeadshotBot, alice: dict) -> None:
    q = [{"name": "question", "type": 3, "value": "Is an AI headshot ok on LinkedIn? @here"}]
    sent = only(await fake.wait_replies(await fake.slash("headshot-ask", alice, q)))
    assert sent.ephemeral and sent.embeds
    assert_safe(sent)
    opts = [
        {"name": "context", "type": 3, "value": "dating"},
        {"name": "tool", "type": 3, "value": "@everyone"},
    ]
    sent = only(await fake.wait_replies(await fake.slash("headshot-disclose", alice, opts)))
    assert sent.embeds and sent.ephemeral
    assert_safe(sent)
    sent = only(await fake.wait_replies(await fake.slash("headshot-help", alice, guild=False)))
    assert "how to use me" in sent.embeds[0]["title"].lower()


# -- direct messages ---------------------------------------------------------------------------
async def test_dm_photo_and_question(fake: FakeDiscord, bot: HeadshotBot) -> None:
    dave = fake.user("dave")
    att = fake.attachment("me.png", ai_png(), "image/png")
    message = await fake.dm(dave, "", [att])
    await fake.wait_until(lambda: fake.channel_sent(message["channel_id"]), what="DM report")
    report = only(fake.channel_sent(message["channel_id"]))
    assert "me.png" in report.embeds[0]["title"]
    assert report.custom_ids and not report.ephemeral
    assert_safe(report)
    if has_check("generators"):
        assert "AI-generated" in report.embeds[0]["title"]

    # A JPEG by DM: the note about Discord removing EXIF does not ask for a DM.
    jpg = await fake.dm(dave, "", [fake.attachment("me.jpg", jpeg_bytes((120, 90)), "image/jpeg")])
    await fake.wait_until(lambda: fake.channel_sent(jpg["channel_id"])[1:], what="JPEG report")
    note = fake.channel_sent(jpg["channel_id"])[-1].text()
    assert "removes EXIF" in note and "direct message" not in note

    question = await fake.dm(dave, "Should I disclose an AI headshot on my résumé?")
    await fake.wait_until(lambda: fake.channel_sent(question["channel_id"])[2:], what="answer")
    answer = fake.channel_sent(question["channel_id"])[-1]
    assert answer.embeds and answer.embeds[0].get("description")
    assert_safe(answer)
    # The bot's own messages never trigger it.
    before = len(fake.sent)
    await fake.dm(fake.bot_user, "echo")
    await asyncio.sleep(0.3)
    assert len(fake.sent) == before


# -- robustness --------------------------------------------------------------------------------
def large_photos(n: int, size: tuple[int, int] = (3000, 2000)) -> list[bytes]:
    """n different large JPEGs (a COM segment makes each unique, so none hits the cache)."""
    base = Image.radial_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40).convert("RGB")
    buf = io.BytesIO()
    Image.blend(base, noise, 0.5).save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    out = []
    for i in range(n):
        comment = f"photo {i}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        out.append(data[:2] + segment + data[2:])
    return out


async def test_event_loop_stays_responsive_under_load(fake: FakeDiscord, bot: HeadshotBot):
    photos = await asyncio.to_thread(large_photos, 20)  # not on the loop under test
    users = [fake.user(f"user{i}") for i in range(20)]
    atts = [fake.attachment(f"big{i}.jpg", p, "image/jpeg") for i, p in enumerate(photos)]
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - t0 - 0.01)

    tick = asyncio.create_task(ticker())
    beats_before, sessions = len(fake.heartbeats), (fake.identifies, fake.resumes)
    started = time.monotonic()
    inters = await asyncio.gather(
        *(fake.check_attachment(u, a) for u, a in zip(users, atts, strict=True))
    )
    for inter in inters:
        await fake.wait_replies(inter, timeout=120)
    elapsed = time.monotonic() - started
    stop.set()
    await tick
    beats = fake.heartbeats[beats_before:]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    max_lag, max_gap = max(lags), max(gaps, default=0.0)
    print(
        f"\n20 large photos in {elapsed:.1f} s; max event-loop lag {max_lag * 1000:.1f} ms; "
        f"{len(gaps)} heartbeats, longest gap {max_gap * 1000:.0f} ms "
        f"(interval {HEARTBEAT_MS} ms)"
    )
    titles = [fake.replies_to(i)[0].embeds[0]["title"] for i in inters]
    assert all(f"big{n}.jpg" in t for n, t in enumerate(titles))
    # The session never dropped, and heartbeats kept flowing (each is ACKed at once).
    assert (fake.identifies, fake.resumes) == sessions
    assert len(gaps) >= int(elapsed * 1000 / HEARTBEAT_MS) - 4
    if busy_machine():
        # Other processes hold the CPUs: scheduling delays are not the bot's. Still catch a
        # blocked loop (a check run on it takes seconds), and say why the goal was not applied.
        print(f"machine busy (load {os.getloadavg()[0]:.1f}): 100 ms goal not asserted")
        assert max_lag < 1.0 and max_gap < 3.0
    else:
        # The goal holds for the loop's ticks (p99); one tick may still lose the CPU to the
        # workers for a moment (seen: 123 ms once), which is the OS, not a blocked loop.
        p99 = sorted(lags)[int(len(lags) * 0.99)]
        assert p99 < 0.100 and max_lag < 0.5, (p99, max_lag)
        assert max_gap < HEARTBEAT_MS / 1000 + 0.1


async def test_reconnect_after_socket_closed(fake: FakeDiscord, bot: HeadshotBot, alice: dict):
    identifies, session = fake.identifies, fake.session_id
    await fake.drop_connection(code=4000)
    await fake.wait_until(lambda: fake.resumes >= 1, what="RESUME")
    resume = next(op for op in reversed(fake.gateway_ops) if op["op"] == 6)
    assert resume["d"]["session_id"] == session and resume["d"]["seq"] >= 2
    assert fake.identifies == identifies  # resumed, not a fresh login
    sent = only(await fake.wait_replies(await fake.slash("headshot-help", alice)))
    assert sent.embeds
    # A session the gateway no longer knows: RESUME is refused (INVALID_SESSION), so the bot
    # identifies afresh, on the gateway it discovered from the REST API.
    fake.session_id = "forgotten"
    await fake.drop_connection(code=4000)
    await fake.wait_until(lambda: fake.identifies > identifies, what="a fresh IDENTIFY")
    sent = only(await fake.wait_replies(await fake.slash("headshot-help", alice)))
    assert sent.embeds
    beats = len(fake.heartbeats)
    await asyncio.sleep(HEARTBEAT_MS / 1000 * 2.5)
    assert len(fake.heartbeats) > beats
    assert fake.unknown == []  # the bot used no REST route the fake does not know
    # Every message the bot sent in this module went out with mentions off.
    assert fake.sent and all(s.payload.get("allowed_mentions") == {"parse": []} for s in fake.sent)
