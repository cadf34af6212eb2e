"""The App Home tab: what the bot does, how to use it, and its privacy promise."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge
from bot.render.slack import home_view


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        bridge.jobs.spawn(client.views_publish(user_id=event["user"], view=home_view()))
