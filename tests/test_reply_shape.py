"""The shape of a check reply on all three surfaces (issue 15, items 1-5), measured on the real
renderers: the terminal text, Discord embeds (bot/render/discord.py) and Slack Block Kit
(bot/render/slack.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import discord
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.core import compose
from bot.core.pool import AnalysisPool
from bot.core.reply import Reply
from bot.core.request import ImageInput, Kind, Platform, Request
from bot.core.service import HeadshotService
from bot.render import discord as discord_render
from bot.render import slack as slack_render
from bot.render.text import render_text
from bot.settings import get_settings
from tests.conftest import jpeg_bytes
from tests.test_render_discord import assert_within_limits
from tests.test_replies_qa import gps_jpeg

SAMPLES = Path(__file__).parent.parent / "samples"
DISCORD_SHORT = 1400  # characters in a default Discord check reply (it was 1,650–3,100)
JPEG_NOTE = "Discord removes EXIF"


@pytest.fixture
def service():
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    yield svc
    svc.close()


def a1111_png(prompt: str) -> bytes:
    info = PngInfo()
    info.add_text(
        "parameters",
        f"{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
        "Seed: 42, Size: 256x256, Model: sd_xl_base_1.0",
    )
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (120, 110, 100)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


async def check(
    service: HeadshotService, name: str, data: bytes, platform: str = "discord", **req
) -> list[Reply]:
    return await service.handle(
        Request(Kind.CHECK, platform, images=[ImageInput(name, data)], **req)
    )


def embed_text(embeds: list[discord.Embed]) -> str:
    return "\n".join(json.dumps(e.to_dict(), ensure_ascii=False) for e in embeds)


def slack_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def buttons(reply: Reply) -> list[str]:
    return [a.id for a in reply.actions]


# -- 1. short by default -------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["a1111-parameters.png", "camera-with-gps.jpg", "c2pa-ai-generated.jpg"]
)
async def test_default_reply_is_short_on_every_surface(service, name):
    (reply,) = await check(service, name, (SAMPLES / name).read_bytes())
    guidance = [line for s in reply.sections if s.title == compose.GUIDANCE for line in s.lines]
    assert len(guidance) <= 1
    evidence = next(s for s in reply.sections if s.title == "Evidence")
    assert len(evidence.lines) <= 2
    assert not any(s.title in ("Look for yourself", "Suggested disclosure") for s in reply.sections)
    assert buttons(reply)[0] == "details"
    # Discord: one embed, well under the old 1,650–3,100 characters, within every limit.
    (embed,) = discord_render.render_reply(reply, token="t").embeds
    assert_within_limits(embed)
    assert len(embed) <= DISCORD_SHORT, len(embed)
    # Slack: the same content, a verdict colour bar, within Block Kit's limits.
    colours = get_settings().slack.colours
    message = slack_render.render_message(reply, lambda n: f"hc:{n}:t", colours)
    (bar,) = message["attachments"]
    assert bar["color"] == colours[reply.tone]
    assert message["blocks"][0]["type"] == "header"
    assert len(message["blocks"]) + len(bar["blocks"]) <= slack_render.MAX_BLOCKS
    assert all(
        len(b.get("text", {}).get("text", "")) <= slack_render.MAX_TEXT for b in bar["blocks"]
    )
    assert any(b["type"] == "actions" for b in bar["blocks"])
    # Terminal: about 15 lines.
    (local,) = await check(service, name, (SAMPLES / name).read_bytes(), platform="cli")
    assert len(render_text(local).splitlines()) <= 22


async def test_buttons_fit_the_verdict(service):
    (ai,) = await check(service, "a.png", a1111_png("studio headshot"))
    assert buttons(ai) == ["details", "parameters", "disclosure"]
    (camera,) = await check(service, "me.jpg", gps_jpeg())
    assert buttons(camera) == ["details", "strip"]
    (plain,) = await check(service, "p.jpg", jpeg_bytes((300, 300)))
    assert buttons(plain) == ["details", "review"]  # the checklist is a page now
    page = plain.page_reply("review")
    assert page is not None and any("Hands" in line for s in page.sections for line in s.lines)


# -- 2. generation parameters in full --------------------------------------------------------
async def test_parameters_page_in_full_and_as_a_file_when_long(service):
    prompt = "portrait of a **founder** @everyone, " * 60
    (reply,) = await check(service, "long.png", a1111_png(prompt))
    page = reply.page_reply("parameters")
    lines = [line for s in page.sections for line in s.lines]
    assert f"Prompt: {prompt.strip()}" in lines  # in full, not an excerpt
    assert {"Negative prompt: blurry", "Steps: 20", "Seed: 42", "CFG scale: 7"} <= set(lines)
    (file,) = page.attachments  # too long for a chat message: also as a text file
    assert file.filename.endswith(".txt") and prompt.strip().encode() in file.data
    rendered = discord_render.render_reply(page)
    assert [f.filename for f in rendered.files] == [file.filename]
    for embed in rendered.embeds:
        assert_within_limits(embed)
    assert "@everyone" not in embed_text(rendered.embeds)
    message = slack_render.render_message(page, None, get_settings().slack.colours)
    assert "@everyone" not in slack_text(message)
    short = (await check(service, "s.png", a1111_png("short prompt")))[0].page_reply("parameters")
    assert not short.attachments


# -- 4. formats that were missed, shown on the parameters page --------------------------------
async def test_civitai_onsite_generator_parameters_on_discord(service):
    import piexif
    import piexif.helper

    from tests.test_generators import CIVITAI_GRAPH, _with_exif

    comment = piexif.helper.UserComment.dump(json.dumps(CIVITAI_GRAPH), encoding="unicode")
    data = _with_exif("JPEG", {piexif.ExifIFD.UserComment: comment})
    (reply,) = await check(service, "civitai.jpeg", data)
    assert reply.tone == "ai_generated" and "parameters" in buttons(reply)
    shown = embed_text(discord_render.render_reply(reply.page_reply("parameters")).embeds)
    assert "urn:air:sdxl:lora:civitai:341353@381870 (0.8)" in shown
    assert "Made with Civitai" in shown and "KSampler" in shown


# -- 3. C2PA in plain words --------------------------------------------------------------------
async def test_content_credentials_in_plain_words_on_the_details_page(service):
    (reply,) = await check(service, "c2pa.jpg", (SAMPLES / "c2pa-ai-generated.jpg").read_bytes())
    details = reply.page_reply("details")
    section = next(s for s in details.sections if s.title == "Content Credentials")
    assert section.lines[0].startswith("Signed by ")
    assert "not on the trust list, and that is what counts" in section.lines[1]
    assert any("created by an AI tool" in line for line in section.lines)
    rendered = embed_text(discord_render.render_reply(details).embeds)
    assert "contentcredentials.org/verify" in rendered
    assert "Validation: Valid" not in rendered and "Validation" not in rendered
    blocks = slack_text(slack_render.render_message(details))
    assert "contentcredentials.org/verify" in blocks


# -- 5. platform notes only where true --------------------------------------------------------
async def test_jpeg_note_only_when_the_jpeg_lost_its_exif(service):
    note = get_settings().discord.platform_note
    (with_gps,) = await check(service, "me.jpg", gps_jpeg(), platform_note=note)
    shown = embed_text(discord_render.render_reply(with_gps).embeds)
    assert "EXIF GPS" in shown and JPEG_NOTE not in shown  # not above the GPS it just read
    (stripped,) = await check(service, "cam.jpg", jpeg_bytes((300, 300)), platform_note=note)
    assert JPEG_NOTE in embed_text(discord_render.render_reply(stripped).embeds)


@pytest.mark.parametrize("platform", ["discord", "slack"])
async def test_chat_privacy_advice_names_the_button_not_the_command_line(service, platform):
    (reply,) = await check(service, "me.jpg", gps_jpeg(), platform=platform)
    if platform == "discord":
        shown = embed_text(discord_render.render_reply(reply, token="t").embeds)
    else:
        shown = slack_text(slack_render.render_message(reply, lambda n: n))
    assert "--strip" not in shown and "Strip metadata" in shown


@pytest.mark.parametrize("platform", ["cli", "console"])
async def test_terminal_footer_and_privacy_name_no_buttons(service, platform):
    (reply,) = await check(service, "me.jpg", gps_jpeg(), platform=platform)
    text = render_text(reply, pages=True).lower()
    assert "button" not in text
    hint = compose.more_hint(reply, Platform(platform))
    assert "button" not in hint.lower() and "all findings" in hint
    assert ("--more" if platform == "cli" else "'more'") in hint
    assert "button" in compose.more_hint(reply, Platform.SLACK).lower()


async def test_one_guidance_line_fitted_to_what_the_reply_shows(service):
    (owner,) = await check(service, "me.jpg", gps_jpeg())
    (line,) = next(s.lines for s in owner.sections if s.title == compose.GUIDANCE)
    assert "metadata" in line.lower()  # the privacy advice, under the GPS it found
    (ai,) = await check(service, "a.png", a1111_png("studio headshot"))
    (line,) = next(s.lines for s in ai.sections if s.title == compose.GUIDANCE)
    assert "disclos" in line.lower()
