"""The Slack adapter's small parts: file links, /headshot-disclose parsing, the duplicate-event
memory, the manifest against the app, and start-up errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.adapters import slack as slack_adapter
from bot.adapters.slack_listeners import audit, commands, moderation, shortcut
from bot.adapters.slack_listeners.commands import parse_disclose
from bot.adapters.slack_listeners.files import file_ids
from bot.core.request import Kind
from bot.core.state import SeenEvents
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


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
    assert {c["command"] for c in features["slash_commands"]} == {
        *commands.COMMANDS,
        audit.AUDIT,
        moderation.SETTINGS,
        moderation.FORGET,
    }
    # Channels, users and user groups arrive as ids where the command reads them.
    escaped = {c["command"] for c in features["slash_commands"] if c["should_escape"]}
    assert escaped == {moderation.SETTINGS, moderation.FORGET}
    assert [s["callback_id"] for s in features["shortcuts"]] == [shortcut.CALLBACK_ID]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "message.im",
        "app_home_opened",
        "team_join",
        "user_change",
        "app_mention",
        # the app removed from a workspace: its data goes (slack_listeners/uninstall.py)
        "app_uninstalled",
        "tokens_revoked",
    }
    assert settings["interactivity"]["is_enabled"] and features["app_home"]["home_tab_enabled"]
    # Exactly what the features use (see the comment in the manifest for why each is there).
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "im:history",
        "im:write",
        "files:read",
        "files:write",
        "commands",
        "users:read",
        "usergroups:read",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        # conversations.members: is the asker in the conversation a file is shared in
        "channels:read",
        "groups:read",
        "im:read",
        "mpim:read",
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
