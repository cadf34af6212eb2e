"""Slack listeners, one module a flow; each has `register(app, bridge)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack_listeners import buttons, commands, dedupe, dm, home, modal, shortcut
from bot.adapters.slack_listeners.bridge import Bridge

FLOWS = (dm, shortcut, commands, modal, buttons, home)


def register_all(app: AsyncApp, bridge: Bridge) -> None:
    dedupe.register(app, dedupe.SeenEvents(ttl_s=bridge.settings.slack.dedupe_ttl_s))
    for flow in FLOWS:
        flow.register(app, bridge)
