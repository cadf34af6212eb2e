"""Discord rendering: embed limits, escaping, packing into messages, buttons and files."""

from __future__ import annotations

import re

import discord

from bot.core.reply import Action, Attachment, Reply, Section
from bot.core.sessions import ReplyCache, parse_button_id
from bot.render.discord import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    EMBEDS_PER_MESSAGE,
    EMBEDS_PER_REPLY,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    TITLE_MAX,
    build_embeds,
    escape,
    pack,
    render_replies,
    render_reply,
    safe_filename,
    section_fields,
    trim,
)


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed) <= EMBED_TOTAL_MAX
    assert len(embed.fields) <= FIELDS_MAX
    assert len(embed.title or "") <= TITLE_MAX
    assert len(embed.description or "") <= DESCRIPTION_MAX
    for f in embed.fields:
        assert 0 < len(f.name) <= FIELD_NAME_MAX
        assert 0 < len(f.value) <= FIELD_VALUE_MAX


def test_escape_markdown_and_mentions() -> None:
    text = escape("@everyone **bold** _it_ `code` ||spoiler|| > quote [x](http://e.vil) @here")
    assert "@everyone" not in text and "@here" not in text
    assert "\\*\\*bold\\*\\*" in text and "\\_it\\_" in text and "\\`code\\`" in text
    assert "\\|\\|spoiler\\|\\|" in text
    assert "\\[x](http" in text  # a masked link would hide where it goes
    assert escape("# Big heading").startswith("\\#")
    assert escape("> quoted").startswith("\\>")


def test_trim_marks_the_cut_and_never_leaves_an_escape_dangling() -> None:
    assert trim("short", 10) == "short"
    cut = trim("x" * 50, 10)
    assert len(cut) == 10 and cut.endswith("…")
    cut = trim("abcdefgh\\*rest", 10)  # the cut would fall right after a backslash
    assert cut.endswith("…") and not cut[:-1].endswith("\\")


def test_long_section_is_split_into_fields_within_limits() -> None:
    section = Section("Evidence", [f"line {i} " + "w" * 180 for i in range(40)])
    fields = section_fields(section)
    assert len(fields) > 1
    assert fields[0][0] == "Evidence" and fields[1][0] == "Evidence (cont.)"
    assert all(len(v) <= FIELD_VALUE_MAX for _, v in fields)
    joined = "\n".join(v for _, v in fields)
    assert all(f"line {i} " in joined for i in range(40))  # nothing lost when split


def test_one_very_long_line_is_trimmed() -> None:
    (_name, value), *rest = section_fields(Section("Prompt", ["p" * 5000]))
    assert not rest and len(value) == FIELD_VALUE_MAX and value.endswith("…")


def test_many_fields_continue_in_more_embeds_then_trim() -> None:
    fields = [(f"f{i}", "v" * 900) for i in range(60)]
    embeds = build_embeds("T", "D", fields, footer="foot")
    assert 1 < len(embeds) <= EMBEDS_PER_REPLY
    for e in embeds:
        assert_within_limits(e)
    assert embeds[-1].fields[-1].value.endswith("…")  # the rest was cut, visibly
    assert embeds[-1].footer.text == "foot"
    assert sum(len(e.fields) for e in embeds) < 60


def test_more_than_25_small_fields() -> None:
    embeds = build_embeds("T", "", [(f"n{i}", "v") for i in range(30)])
    assert [len(e.fields) for e in embeds] == [25, 5]


def test_huge_title_description_footer_fit_one_embed() -> None:
    (embed,) = build_embeds("t" * 400, "d" * 9000, [], footer="f" * 3000)
    assert_within_limits(embed)
    assert embed.title.endswith("…") and embed.description.endswith("…")


def check_reply() -> Reply:
    return Reply(
        title="🤖 AI-generated — @everyone_**x**.png",
        summary="This image carries metadata written by an AI image generator.",
        tone="ai_generated",
        sections=[
            Section("Evidence", ["Strong · PNG parameters — prompt: @here **bold** <@&1>"]),
            Section("Guidance", ["Say so: disclose AI headshots."]),
        ],
        pages={"details": [Section("All findings", ["…"])]},
        actions=[Action("disclosure", "Disclosure text"), Action("details", "Details")],
        attachments=[Attachment("annotated picture.png", b"\x89PNG...", "What the check saw")],
        footer="3 of 3 checks ran",
    )


def test_render_reply_escapes_colours_and_links_the_picture() -> None:
    colours = {"ai_generated": 0xD9534F}
    out = render_reply(check_reply(), token="tok", colours=colours)
    (embed,) = out.embeds
    assert embed.colour.value == 0xD9534F
    assert "@everyone" not in embed.title and "\\*\\*x\\*\\*" in embed.title
    assert "@here" not in embed.fields[0].value
    assert out.files[0].filename == "annotated_picture.png"
    assert embed.image.url == "attachment://annotated_picture.png"
    assert [parse_button_id(c) for c, _ in out.buttons] == [
        ("tok", "disclosure"),
        ("tok", "details"),
    ]


def test_render_replies_caches_replies_with_buttons_and_sends_no_mentions() -> None:
    cache = ReplyCache()
    (msg,) = render_replies([check_reply()], cache)
    kwargs = msg.kwargs()
    assert kwargs["allowed_mentions"].to_dict()["parse"] == []
    view = kwargs["view"]
    assert not view.is_dispatchable()  # presses go to the persistent hc: handler
    custom_ids = [item.custom_id for item in view.children]
    token, name = parse_button_id(custom_ids[1])
    assert name == "details" and cache.get(token) is not None
    (file,) = kwargs["files"]
    assert file.filename == "annotated_picture.png"
    assert msg.kwargs()["files"][0].fp.read() == b"\x89PNG..."  # fresh files on every call


def test_pack_respects_per_message_limits() -> None:
    replies = [
        Reply(title=f"r{i}", summary="s" * 1500, actions=[Action("details", "Details")])
        for i in range(12)
    ]
    messages = render_replies(replies, ReplyCache())
    assert sum(len(m.embeds) for m in messages) == 12
    for m in messages:
        assert len(m.embeds) <= EMBEDS_PER_MESSAGE
        assert m.size() <= EMBED_TOTAL_MAX
        assert len(m.rows) <= 5
    small = pack(render_reply(Reply(title=f"r{i}")) for i in range(12))
    assert [len(m.embeds) for m in small] == [10, 2]


def test_safe_filename() -> None:
    assert safe_filename("my photo (1).JPG") == "my_photo__1_.JPG"
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("@everyone") == "everyone"
    assert safe_filename("") == "file"


def test_escape_leaves_no_live_links_channels_or_timestamps() -> None:
    """Text from a file (a prompt, a remote-manifest address) must not become a clickable
    link, a timestamp, an emoji or a command link in the bot's embed."""
    for raw in (
        "see https://evil.example/login",
        "<t:0:R>",
        "</headshot-check:123456789012345678>",
        "<:pepe:123456789012345678>",
    ):
        out = escape(raw)
        assert "://" not in out and not re.search(r"<[t/:]", out), out
        assert out.replace("\u200b", "").replace("\\", "") == raw.replace("\\", "")
    # The bot's own help links to Discord's pages stay clickable.
    assert "https://discord.com/developers" in escape("https://discord.com/developers/x")
