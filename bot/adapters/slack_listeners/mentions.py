"""Channel watch on Slack (opt-in per channel, /headshot-settings channelwatch #channel on):
mention the app in a message with a photo, or in a reply in the photo's thread, and the
answer comes as an ephemeral message only the person who asked sees. Nothing is posted for
others; in a channel that is not watched the app says so, privately.

Slack may deliver a mention in a message that uploads a file only as a `message` event, not
as `app_mention` (slackapi/bolt-python#925): a mention in the thread always works."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.files import collect, is_image
from bot.core.channel_watch import poster_note
from bot.core.reply import Reply
from bot.core.request import Kind, Platform, Request

log = logging.getLogger(__name__)

PLATFORM = Platform.SLACK


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("app_mention")
    async def app_mention(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("user") and not event.get("bot_id"):
            bridge.jobs.spawn(_answer(bridge, client, str(body.get("team_id") or ""), event))


async def _answer(bridge: Bridge, client: AsyncWebClient, team: str, event: dict[str, Any]) -> None:
    user, channel = str(event["user"]), str(event.get("channel") or "")
    thread = event.get("thread_ts")
    here = Target(user=user, channel=channel, thread_ts=thread, ephemeral=True)
    words = messages.table("moderation.channel_watch")
    if bridge.audits is None or not await bridge.audits.watches_channel(PLATFORM, team, channel):
        await bridge.send(client, here, [_say(words["channel_off"])])
        return
    files = _photos(event.get("files"))
    if not files and thread and thread != event.get("ts"):
        try:
            files = await _thread_files(client, channel, str(thread))
        except SlackApiError as exc:
            code = exc.response.get("error")
            log.info("could not read the thread's first message: %s", code)
            await bridge.send(client, here, [_say(words["needs_history"], "warning")])
            return
    if not files:
        await bridge.send(client, here, [_say(words["no_photo"])])
        return
    # collect() checks only files the asker may see, and marks someone else's photo so its
    # private details (where it was taken) are not shown.
    request = Request(Kind.CHECK, PLATFORM, user_id=user)
    admitted = bridge.admit_files(request, files)
    await collect(bridge, client, request, admitted, where=channel)
    replies = await bridge.service.handle(request)
    await bridge.send(client, here, [poster_note("in this channel", marked=False), *replies])


async def _thread_files(client: AsyncWebClient, channel: str, thread: str) -> list[dict[str, Any]]:
    """The files of the message a thread hangs from (needs channels:history/groups:history)."""
    resp = await client.conversations_replies(channel=channel, ts=thread, limit=1, inclusive=True)
    first = (resp.get("messages") or [{}])[0]
    return _photos(first.get("files"))


def _photos(files: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The images among a message's files (stubs without a type are resolved later)."""
    return [f for f in files or [] if is_image(f) or "mimetype" not in f]


def _say(text: str, tone: str = "info") -> Reply:
    return Reply(title=messages.text("moderation.channel_watch.title"), summary=text, tone=tone)
