"""/headshot-settings (moderators) and /headshot-forget (anyone about themself; moderators
about someone else). Both commands are registered with should_escape, so channels, users and
user groups arrive as <#C…>, <@U…> and <!subteam^S…> and are read here by id."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.members import allowed
from bot.audit.runner import STRENGTH_RANK
from bot.audit.service import ServerSettings
from bot.core.reply import Reply, Section
from bot.render.slack import messages

SETTINGS, FORGET = "/headshot-settings", "/headshot-forget"
PLATFORM = "slack"

_CHANNEL = re.compile(r"^(?:<#)?([CG][A-Z0-9]{2,})(?:\|[^>]*)?>?$")
_GROUP = re.compile(r"^(?:<!subteam\^)?(S[A-Z0-9]{2,})(?:\|[^>]*)?>?$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_OFF = ("off", "none", "clear")
_ON = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
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


def _not_set_up() -> Reply:
    return _note(messages()["audit"]["not_set_up"], "error")


def _note(text: str, tone: str = "info", title: str = "Headshot Check") -> Reply:
    return Reply(title=title, summary=text, tone=tone)


def parse_settings(text: str, channel: str | None = None) -> dict[str, Any] | str | None:
    """The change a /headshot-settings text asks for: a dict of ServerSettings fields, None
    for "just show them", or a str saying what was wrong."""
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
        return {"modlog_channel": m.group(1)} if m else "Name a channel, e.g. modlog #mod-log."
    if name == "watch":
        return {"watch": _ON[low]} if low in _ON else "Say watch on or watch off."
    if name in ("channelwatch", "channel-watch", "watch-channel"):
        return _channel_watch(value, words[2].lower() if len(words) > 2 else "on", channel)
    if name in ("strength", "threshold", "min-strength"):
        if low in STRENGTH_RANK:
            return {"min_strength": low}
        return "Choose one of: " + ", ".join(STRENGTH_RANK) + "."
    if name == "retention":
        try:
            days = float(low.removesuffix("d").removesuffix("days"))
        except ValueError:
            days = 0
        if 1 <= days <= MAX_RETENTION_DAYS:
            return {"retention_days": days}
        return f"Give a number of days from 1 to {MAX_RETENTION_DAYS}, e.g. retention 30."
    if name in ("moderators", "moderator", "group"):
        if low in _OFF:
            return {"moderator_role": None}
        m = _GROUP.match(value)
        return {"moderator_role": m.group(1)} if m else "Name a user group, e.g. moderators @mods."
    return f"I don't know the setting {name!r}."


def _channel_watch(value: str, switch: str, here: str | None) -> dict[str, Any] | str:
    """channelwatch #channel|here on|off: {"watch_channel": (id, on)}, applied by
    AuditService.set_channel_watch (one channel changes, the others stay)."""
    m = _CHANNEL.match(value)
    channel = here if value.lower() == "here" else (m.group(1) if m else None)
    if channel is None or switch not in _ON:
        return "Name a channel and on or off, e.g. channelwatch #photos on."
    return {WATCH_CHANNEL: (channel, _ON[switch])}


def settings_reply(prefs: ServerSettings, note: str = "") -> Reply:
    m = messages()["settings"]
    current = [
        f"Mod-log channel: {prefs.modlog_channel or 'none (reports go by DM to whoever asked)'}",
        f"Watch mode: {'on' if prefs.watch else 'off'}",
        f"Weakest evidence noted: {prefs.min_strength}",
        f"Audit results kept for: {prefs.retention_days:g} days",
        f"Moderators' user group: {prefs.moderator_role or 'none (admins and owners only)'}",
        "Channel watch (mention the app on a photo): "
        + (", ".join(prefs.watch_channels) or "off in every channel"),
    ]
    if prefs.watch and not prefs.modlog_channel:
        current.append(m["watch_without_modlog"])
    return Reply(
        title=m["title"],
        summary=note,
        tone="warning" if note and note != m["saved"] else "info",
        sections=[Section("Current settings", current), Section(m["usage_title"], m["usage"])],
    )


async def _settings(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    here, team = _here(command), command["team_id"]
    if bridge.audits is None:
        await bridge.send(client, here, [_not_set_up()])
        return
    if not await allowed(
        bridge, client, team, command["user_id"], here, messages()["settings"]["refused"]
    ):
        return
    change = parse_settings(command.get("text") or "", command.get("channel_id"))
    # Moderators may not hand their role on: only admins and owners choose who moderates.
    if isinstance(change, dict) and "moderator_role" in change:
        refusal = messages()["settings"]["moderators_refused"]
        if not await allowed(
            bridge, client, team, command["user_id"], here, refusal, admins_only=True
        ):
            return
    if isinstance(change, dict) and WATCH_CHANNEL in change:
        channel, on = change[WATCH_CHANNEL]
        prefs = await bridge.audits.set_channel_watch(PLATFORM, team, channel, on)
        note = messages()["settings"]["saved"]
    elif isinstance(change, dict):
        prefs = await bridge.audits.update_settings(PLATFORM, team, **change)
        note = messages()["settings"]["saved"]
    else:
        prefs = await bridge.audits.server_settings(PLATFORM, team)
        note = change or ""
    await bridge.send(client, here, [settings_reply(prefs, note)])


async def _forget(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    here, team, user = _here(command), command["team_id"], command["user_id"]
    m = messages()["forget"]
    if bridge.audits is None:
        await bridge.send(client, here, [_not_set_up()])
        return
    text = (command.get("text") or "").strip()
    if not text:
        await bridge.audits.forget(PLATFORM, user)  # about themself: in every workspace
        await bridge.send(client, here, [_note(m["self_done"])])
        return
    who = _USER.match(text)
    if who is None:
        await bridge.send(client, here, [_note(m["usage"])])
        return
    if who.group(1) != user and not await allowed(bridge, client, team, user, here, m["refused"]):
        return
    await bridge.audits.forget(PLATFORM, who.group(1), None if who.group(1) == user else team)
    done = m["other_done"].format(user=who.group(1))
    await bridge.send(client, here, [_note(done)])
