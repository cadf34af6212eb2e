"""Direct messages: photos are checked and answered in a thread; text is answered."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.files import collect
from bot.core.request import Kind, Platform, Request

# Message subtypes that are someone writing to us; edits, joins, bot posts and the rest are not.
HANDLED_SUBTYPES = (None, "file_share")


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("message")
    async def direct_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if not _wants_answer(event):
            return
        bridge.jobs.spawn(_answer(bridge, client, event))

    @app.event("file_shared")
    async def file_shared(event: dict[str, Any]) -> None:
        # Slack sends file_shared alongside message.im for every file sent to us; the message
        # event carries the file and the ts to reply in a thread, so that one does the work.
        return None


def _wants_answer(event: dict[str, Any]) -> bool:
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") in HANDLED_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


async def _answer(bridge: Bridge, client: AsyncWebClient, event: dict[str, Any]) -> None:
    files = list(event.get("files") or [])
    req = Request(Kind.MESSAGE, Platform.SLACK, user_id=event["user"], text=event.get("text") or "")
    if files:
        files = bridge.admit_files(req, files)
        await collect(bridge, client, req, files, where=event["channel"])
        thread = event.get("thread_ts") or event.get("ts")
    else:
        thread = event.get("thread_ts")
    target = Target(user=event["user"], channel=event["channel"], thread_ts=thread)
    await bridge.answer(client, req, target)
