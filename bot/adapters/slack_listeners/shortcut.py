"""The "Check headshot" message shortcut: check a message's photos and show the result only
to the person who asked (by DM where Slack cannot show it privately)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.files import collect
from bot.core.request import Kind, Platform, Request

CALLBACK_ID = "check_headshot"


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.message_shortcut(CALLBACK_ID)
    async def check_headshot(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        bridge.jobs.spawn(_check(bridge, client, body))


async def _check(bridge: Bridge, client: AsyncWebClient, body: dict[str, Any]) -> None:
    message = body.get("message") or {}
    user = body["user"]["id"]
    # Someone else's photo: its privacy details (location, serials) are not shown to us.
    req = Request(Kind.CHECK, Platform.SLACK, user_id=user, for_owner=message.get("user") == user)
    channel = (body.get("channel") or {}).get("id")
    files = bridge.admit_files(req, list(message.get("files") or []))
    await collect(bridge, client, req, files, where=channel)
    target = Target(
        user=user,
        channel=channel,
        thread_ts=message.get("thread_ts"),
        ephemeral=True,
    )
    await bridge.answer(client, req, target)
