"""Block Kit rendering: escaping of every user-controlled field, and Slack's limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.adapters import slack as slack_adapter
from bot.adapters.slack_listeners import commands, shortcut
from bot.adapters.slack_listeners.commands import parse_disclose
from bot.adapters.slack_listeners.dedupe import SeenEvents
from bot.adapters.slack_listeners.files import file_ids
from bot.core.reply import Action, Reply, Section
from bot.core.request import Kind
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
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
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


def test_file_ids_from_links() -> None:
    assert file_ids("<https://acme.slack.com/files/U01ABC/F0ABCDEF12/me.png>") == ["F0ABCDEF12"]
    assert file_ids("https://files.slack.com/files-pri/T0AAA-F0BBBCCC1/x.jpg") == ["F0BBBCCC1"]
    assert file_ids("hello there FOO FACEBOOK") == []


def test_parse_disclose() -> None:
    req = parse_disclose("résumé edited Midjourney v6", "U1")
    assert req is not None and req.kind == Kind.DISCLOSE
    assert (req.context, req.edit_only, req.tool) == ("resume", True, "Midjourney v6")
    assert parse_disclose("LinkedIn", "U1").context == "linkedin"
    assert parse_disclose("the moon", "U1") is None


def test_seen_events_expire() -> None:
    now = [0.0]
    seen = SeenEvents(ttl_s=10, clock=lambda: now[0])
    assert seen.first_time("Ev1") and not seen.first_time("Ev1")
    now[0] = 11
    assert seen.first_time("Ev1")


def test_manifest_matches_the_app() -> None:
    manifest = yaml.safe_load((ROOT / "config/slack/manifest.yml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == set(commands.COMMANDS)
    assert [s["callback_id"] for s in features["shortcuts"]] == [shortcut.CALLBACK_ID]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"message.im", "app_home_opened"}
    assert settings["interactivity"]["is_enabled"] and features["app_home"]["home_tab_enabled"]
    # Exactly what the features use (see the comment in the manifest for why each is there).
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "im:history",
        "im:write",
        "files:read",
        "files:write",
        "commands",
    }


@pytest.mark.parametrize(
    ("http", "env", "needed"),
    [
        (False, {}, "SLACK_BOT_TOKEN and SLACK_APP_TOKEN"),
        (True, {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_run_slack_says_which_tokens_are_missing(http, env, needed, monkeypatch, capsys) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, **env)
    assert slack_adapter.run_slack(settings, http=http) == 2
    assert needed in capsys.readouterr().err


def test_run_slack_wants_an_app_level_token(monkeypatch, capsys) -> None:
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xoxb-2")
    assert slack_adapter.run_slack(settings, http=False) == 2
    assert "xapp-" in capsys.readouterr().err
