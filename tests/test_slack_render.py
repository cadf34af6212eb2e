"""Block Kit rendering: escaping of every user-controlled field, and Slack's limits."""

from __future__ import annotations

import json

from bot.core.reply import Action, Reply, Section
from bot.guidance import CONTEXTS
from bot.render.slack import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_TEXT,
    check_modal,
    escape,
    fallback_text,
    home_view,
    render_blocks,
    truncate,
)

EVIL = (
    "<!channel> <!here|here> <@U0BOSS0001> <#C0SECRET01> <https://evil.example|login> & @everyone"
)


def all_text(blocks: object) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_escape_neutralises_markup_and_broadcasts() -> None:
    out = escape(EVIL)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U0BOSS0001&gt;" in out
    assert "&amp; " in out
    assert "@everyone" not in out and "@\u2060everyone" in out
    assert escape("a & b") == "a &amp; b"  # no double escaping of our own entities


def test_every_field_of_a_reply_is_escaped() -> None:
    reply = Reply(
        title=EVIL,
        summary=EVIL,
        tone="error",
        sections=[Section(EVIL, [EVIL, EVIL])],
        actions=[Action("details", EVIL)],
        footer=EVIL,
    )
    blocks = render_blocks(reply, lambda name: f"hc:{name}:tok")
    sent = all_text(blocks) + fallback_text(reply)
    for raw in ("<!channel>", "<!here", "<@U0BOSS0001>", "<#C0SECRET01>", "<https://", "@everyone"):
        assert raw not in sent
    # mrkdwn objects are verbatim, so Slack does not auto-link what is left.
    mrkdwn = [t for b in blocks for t in _text_objects(b) if t["type"] == "mrkdwn"]
    assert mrkdwn and all(t["verbatim"] is True for t in mrkdwn)


def _text_objects(node):
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text"):
            yield node
        for v in node.values():
            yield from _text_objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from _text_objects(v)


def test_limits_are_kept() -> None:
    long_line = "word " * 2000
    reply = Reply(
        title="T" * 400,
        summary=long_line,
        sections=[Section(f"S{i}", [long_line, "short"]) for i in range(60)],
        actions=[Action("details", "L" * 200), Action("disclosure", "Disclosure text")],
        footer="F" * 5000,
    )
    blocks = render_blocks(reply, lambda name: f"hc:{name}:tok")
    assert len(blocks) == MAX_BLOCKS
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= MAX_HEADER
    assert blocks[-1]["type"] == "context"  # the footer survives the cut
    assert blocks[-2]["type"] == "actions"  # and so do the buttons
    assert all(len(t["text"]) <= MAX_TEXT for b in blocks for t in _text_objects(b))
    labels = [e["text"]["text"] for e in blocks[-2]["elements"]]
    assert len(labels[0]) <= 75 and labels[1] == "Disclosure text"
    assert len(fallback_text(reply)) <= 3000


def test_truncation_never_splits_an_entity() -> None:
    text = escape("a" * 2997 + "<<<<")  # the cut at 2999 would fall inside "&lt;"
    assert truncate(text, 3000) == "a" * 2997 + "…"
    whole = escape("a" * 2995 + "<<<<")  # here "&lt;" ends exactly at the cut
    assert truncate(whole, 3000) == "a" * 2995 + "&lt;…"


def test_buttons_are_left_out_without_a_button_id() -> None:
    reply = Reply(title="x", actions=[Action("details", "Details")])
    assert not any(b["type"] == "actions" for b in render_blocks(reply, None))


def test_home_view_and_modal_fit_slack() -> None:
    home = home_view()
    assert home["type"] == "home" and len(home["blocks"]) <= 100
    modal = check_modal(CONTEXTS, 5)
    assert len(modal["title"]["text"]) <= 24
    [file_input] = [b["element"] for b in modal["blocks"] if b["element"]["type"] == "file_input"]
    assert "png" in file_input["filetypes"] and file_input["max_files"] == 5
    options = next(b for b in modal["blocks"] if b["block_id"] == "context")["element"]["options"]
    assert [o["value"] for o in options] == list(CONTEXTS)
