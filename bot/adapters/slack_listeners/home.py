"""The App Home tab: what the bot does, how to use it, its privacy promise, and a button that
opens the upload form."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.commands import open_check_modal
from bot.render.slack import HOME_CHECK_ACTION, home_view


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        bridge.jobs.spawn(client.views_publish(user_id=event["user"], view=home_view()))

    @app.action(HOME_CHECK_ACTION)
    async def check_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        await open_check_modal(bridge, client, body["trigger_id"], Target(user=user))
