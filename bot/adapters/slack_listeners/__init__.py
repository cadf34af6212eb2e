"""Slack listeners, one module a flow; each has `register(app, bridge)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack_listeners import (
    audit,
    buttons,
    commands,
    dedupe,
    dm,
    guard,
    home,
    mentions,
    modal,
    moderation,
    shortcut,
    watch,
)
from bot.adapters.slack_listeners.bridge import Bridge
from bot.core.state import make_seen_events

# audit and watch before buttons: their buttons' ids also start with "hc:".
FLOWS = (dm, shortcut, commands, modal, audit, watch, mentions, moderation, buttons, home)


def register_all(app: AsyncApp, bridge: Bridge) -> None:
    guard.register(app)  # first: no listener sees a payload it cannot read
    seen = make_seen_events(bridge.settings, ttl_s=bridge.settings.slack.dedupe_ttl_s)
    dedupe.register(app, seen)
    for flow in FLOWS:
        flow.register(app, bridge)
