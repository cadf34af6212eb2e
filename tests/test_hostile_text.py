"""Hostile text in file names and metadata (issue 12 item 5): bidirectional controls that
disguise a name (`photo<RLO>gpj.exe` reads as `photoexe.jpg`) never reach people, and Slack
mrkdwn or Discord markdown in user text stays literal. Real pipeline, real renderers."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.analysis.pipeline.findings import excerpt, strip_bidi
from bot.core.pool import AnalysisPool
from bot.core.request import ImageInput, Kind, Request
from bot.core.service import HeadshotService
from bot.render.discord import escape as discord_escape
from bot.render.discord import render_replies
from bot.render.slack import escape, fallback_text, render_blocks
from bot.settings import get_settings

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
NAME = "invoice\u202egpj.exe\u2066.png"
PROMPT = "*CEO* _verified_ ~real~ `photo` \u202eeno laer\u202c \u2067x\u2069"


def hostile_png() -> bytes:
    info = PngInfo()
    info.add_text("parameters", f"{PROMPT}\nSteps: 30, Sampler: Euler a, Model: {PROMPT}")
    info.add_text("Software", PROMPT)
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), (120, 90, 70)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def replies():
    import asyncio

    async def run():
        service = HeadshotService(get_settings(), pool=AnalysisPool(inline=True))
        try:
            req = Request(Kind.CHECK, "slack", images=[ImageInput(NAME, hostile_png())])
            return await service.handle(req)
        finally:
            service.close()

    return asyncio.run(run())


def test_the_helper_strips_every_bidi_control() -> None:
    assert strip_bidi("a" + BIDI + "b") == "ab"
    assert strip_bidi("שלום, world – ok") == "שלום, world – ok"  # RTL text itself stays
    assert excerpt("x\u202ey\u2066z") == "xyz"


def test_file_names_lose_bidi_controls_at_the_door() -> None:
    assert ImageInput(NAME, b"").filename == "invoicegpj.exe.png"


def test_no_bidi_control_reaches_slack_or_discord(replies) -> None:
    blocks = [render_blocks(r, lambda a: a) for r in replies]
    slack_out = json.dumps(blocks, ensure_ascii=False) + "".join(map(fallback_text, replies))
    assert "invoicegpj.exe.png" in slack_out
    messages = render_replies(replies, None, get_settings().discord.colours)
    discord_out = json.dumps([e.to_dict() for m in messages for e in m.embeds], ensure_ascii=False)
    assert "invoicegpj" in discord_out
    for out in (slack_out, discord_out):
        assert not set(BIDI) & set(out)


def test_renderers_strip_bidi_from_any_text() -> None:
    assert not set(BIDI) & set(escape("q\u202eA" + BIDI))
    assert not set(BIDI) & set(discord_escape("q\u202eA" + BIDI))


@pytest.mark.parametrize("marked", ["*bold*", "_italic_", "~strike~", "`code`", "```block```"])
def test_slack_mrkdwn_in_user_text_stays_literal(marked: str) -> None:
    """Slack has no escape character: a zero-width space each side of a mark stops it
    opening or closing a span, and the text still reads (and copies) the same."""
    out = escape(f"see {marked} here")
    assert marked not in out
    assert out.replace("\u200b", "") == f"see {marked} here"
    for mark in "*_~`":
        for i, ch in enumerate(out):
            if ch == mark:
                assert out[i - 1] == "\u200b" and out[i + 1] == "\u200b"


def test_the_bots_own_formatting_still_works(replies) -> None:
    blocks = render_blocks(replies[0], lambda a: a)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    titles = [t.split("\n", 1)[0] for t in sections if "\n• " in t]
    assert titles  # each section's bold title: marks right against the words, not escaped
    for title in titles:
        assert title.startswith("*") and title.endswith("*") and title[1] != "\u200b"


def test_user_mrkdwn_from_metadata_is_escaped_in_the_report(replies) -> None:
    blocks = [render_blocks(r, lambda a: a) for r in replies]
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "CEO" in shown or "verified" in shown  # the prompt is echoed …
    assert "*CEO*" not in shown and "_verified_" not in shown and "`photo`" not in shown


def test_discord_escapes_the_same_marks() -> None:
    out = discord_escape("*bold* _italic_ ~~strike~~ `code` ```block```")
    for raw in ("*bold*", "_italic_", "~~strike~~", "`code`"):
        assert raw not in out
