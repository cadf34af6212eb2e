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

# audit and watch before buttons: their buttons' ids also start with "hc:".
FLOWS = (dm, shortcut, commands, modal, audit, watch, mentions, moderation, buttons, home)


def register_all(app: AsyncApp, bridge: Bridge) -> None:
    guard.register(app)  # first: no listener sees a payload it cannot read
    dedupe.register(app, dedupe.SeenEvents(ttl_s=bridge.settings.slack.dedupe_ttl_s))
    for flow in FLOWS:
        flow.register(app, bridge)
