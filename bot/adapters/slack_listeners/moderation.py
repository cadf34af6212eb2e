"""/headshot-settings (moderators) and /headshot-forget (anyone about themself; moderators
about someone else): the command text parsed here, the flows in bot.audit.flows. Both commands
are registered with should_escape, so channels, users and user groups arrive as <#C…>, <@U…>
and <!subteam^S…> and are read here by id."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.port import SlackModeration
from bot.analysis.pipeline.findings import Strength
from bot.audit.flows import SettingsChange, notice, worded
from bot.core.reply import Reply
from bot.core.request import Platform

SETTINGS, FORGET = "/headshot-settings", "/headshot-forget"

_CHANNEL = re.compile(r"^(?:<#)?([CG][A-Z0-9]{2,})(?:\|[^>]*)?>?$")
_GROUP = re.compile(r"^(?:<!subteam\^)?(S[A-Z0-9]{2,})(?:\|[^>]*)?>?$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_OFF = ("off", "none", "clear")
_ON = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
STRENGTHS = [s.value for s in sorted(Strength, key=lambda s: s.rank)]  # weakest first
MAX_RETENTION_DAYS = 3650
WATCH_CHANNEL = "watch_channel"  # a change to one channel's watch, not a ServerSettings field


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.command(SETTINGS)
    async def headshot_settings(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        bridge.jobs.spawn(_settings(bridge, client, command))

    @app.command(FORGET)
    async def headshot_forget(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        bridge.jobs.spawn(_forget(bridge, client, command))


def _here(command: dict[str, Any]) -> Target:
    return Target(
        user=command["user_id"],
        channel=command.get("channel_id"),
        response_url=command.get("response_url"),
    )


def _wrong(key: str, **fmt: object) -> str:
    return messages.text(f"moderation.slack.parse.{key}", **fmt)


def parse_settings(text: str, channel: str | None = None) -> dict[str, Any] | str | None:
    """The change a /headshot-settings text asks for: a dict of ServerSettings fields (or
    {"watch_channel": (id, on)}), None for "just show them", or a str saying what was wrong."""
    words = text.split()
    if not words or words[0].lower() in ("show", "help"):
        return None
    name, value = words[0].lower(), (words[1] if len(words) > 1 else "")
    low = value.lower()
    if name in ("modlog", "mod-log", "channel"):
        if low in _OFF:
            return {"modlog_channel": None}
        if low == "here" and channel:
            return {"modlog_channel": channel}
        m = _CHANNEL.match(value)
        return {"modlog_channel": m.group(1)} if m else _wrong("channel")
    if name == "watch":
        return {"watch": _ON[low]} if low in _ON else _wrong("watch")
    if name in ("channelwatch", "channel-watch", "watch-channel"):
        return _channel_watch(value, words[2].lower() if len(words) > 2 else "on", channel)
    if name in ("strength", "threshold", "min-strength"):
        if low in STRENGTHS:
            return {"min_strength": low}
        return _wrong("strength", choices=", ".join(STRENGTHS))
    if name == "retention":
        try:
            days = float(low.removesuffix("d").removesuffix("days"))
        except ValueError:
            days = 0
        if 1 <= days <= MAX_RETENTION_DAYS:
            return {"retention_days": days}
        return _wrong("retention", max=MAX_RETENTION_DAYS)
    if name in ("moderators", "moderator", "group"):
        if low in _OFF:
            return {"moderator_role": None}
        m = _GROUP.match(value)
        return {"moderator_role": m.group(1)} if m else _wrong("group")
    return _wrong("unknown", name=name)


def _channel_watch(value: str, switch: str, here: str | None) -> dict[str, Any] | str:
    """channelwatch #channel|here on|off: one channel changes, the others stay."""
    m = _CHANNEL.match(value)
    channel = here if value.lower() == "here" else (m.group(1) if m else None)
    if channel is None or switch not in _ON:
        return _wrong("channel_watch")
    return {WATCH_CHANNEL: (channel, _ON[switch])}


def settings_change(parsed: dict[str, Any] | str | None) -> SettingsChange:
    if isinstance(parsed, str):
        return SettingsChange(problem=parsed)
    fields = dict(parsed or {})
    return SettingsChange(fields=fields, watch_channel=fields.pop(WATCH_CHANNEL, None))


async def _settings(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    here, flows = _here(command), bridge.moderation
    if flows is None:
        await bridge.send(client, here, [notice("not_set_up", Platform.SLACK, "error")])
        return
    change = settings_change(parse_settings(command.get("text") or "", command.get("channel_id")))
    port = SlackModeration(bridge, client, command["team_id"])
    await bridge.send(client, here, [await flows.settings(port, command["user_id"], change)])


async def _forget(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    here, user, flows = _here(command), command["user_id"], bridge.moderation
    if flows is None:
        await bridge.send(client, here, [notice("not_set_up", Platform.SLACK, "error")])
        return
    text = (command.get("text") or "").strip()
    who = _USER.match(text)
    if not text:
        reply = await flows.forget_self(Platform.SLACK, user)  # in every workspace
    elif who is None:
        title = worded("forget", Platform.SLACK)["title"]
        reply = Reply(title=title, summary=messages.text("moderation.forget.usage"))
    else:
        port = SlackModeration(bridge, client, command["team_id"])
        reply = await flows.forget_member(port, user, who.group(1), who.group(1))
    await bridge.send(client, here, [reply])
