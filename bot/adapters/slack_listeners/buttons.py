"""Buttons on results (Details, Disclosure text, Strip metadata): answered from the reply
cache. Pages go where the button was (privately if the result was private); files go to the
person's DM, since ephemeral messages cannot carry them."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.core.buttons import page_pattern, parse_button_id

# Not an audit's Cancel or a watch note's Details: those have listeners of their own.
BUTTON = re.compile("^" + page_pattern())


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.action(BUTTON)
    async def result_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = parse_button_id(str(action.get("action_id", "")))
        if parsed is not None:
            bridge.jobs.spawn(_press(bridge, client, body, *parsed))


async def _press(
    bridge: Bridge, client: AsyncWebClient, body: dict[str, Any], token: str, name: str
) -> None:
    reply = bridge.cache.page(token, name)
    target = _where(body)
    if reply.attachments:
        target = await bridge.to_dm(client, target)
    await bridge.send(client, target, [reply])


def _where(body: dict[str, Any]) -> Target:
    user = body["user"]["id"]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    if container.get("is_ephemeral") or not message:
        # Never answer a private result in public: its response_url, else the person's DM.
        if body.get("response_url"):
            return Target(user=user, channel=channel, response_url=body["response_url"])
        return Target(user=user)
    thread = message.get("thread_ts") or message.get("ts")
    return Target(user=user, channel=channel, thread_ts=thread)
