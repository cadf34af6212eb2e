"""Watch mode: a member who joins (team_join) or changes their avatar (user_change) is checked
by bot.audit.flows, which posts a short note with a Details button in the mod-log channel when
the avatar shows signals at or above the workspace's threshold, or matches other members'
avatars. Nothing is ever done to the member."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.members import to_member
from bot.adapters.slack_listeners.port import SlackModeration
from bot.core.buttons import NOTE, moderator_pattern, parse_button_id

log = logging.getLogger(__name__)

DETAILS = re.compile("^" + moderator_pattern(NOTE))


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("team_join")
    async def team_join(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        bridge.jobs.spawn(_check(bridge, client, body, event.get("user") or {}, joined=True))

    @app.event("user_change")
    async def user_change(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        bridge.jobs.spawn(_check(bridge, client, body, event.get("user") or {}, joined=False))

    @app.action(DETAILS)
    async def details(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = parse_button_id(str(action.get("action_id", "")))
        if parsed is not None:
            bridge.jobs.spawn(_details(bridge, client, body, parsed[0]))


async def _check(
    bridge: Bridge, client: AsyncWebClient, body: dict[str, Any], user: dict[str, Any], joined: bool
) -> None:
    team = str(body.get("team_id") or user.get("team_id") or "")
    member = to_member(user)
    if bridge.moderation is None or member is None or not team:
        return
    await bridge.moderation.watch(SlackModeration(bridge, client, team), member, joined=joined)


async def _details(
    bridge: Bridge, client: AsyncWebClient, body: dict[str, Any], member_id: str
) -> None:
    if bridge.moderation is None:
        return
    user = body["user"]["id"]
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    channel = (body.get("channel") or {}).get("id")
    port = SlackModeration(bridge, client, team)
    reply = await bridge.moderation.note_details(port, user, member_id)
    # Only the person who pressed sees the details.
    await bridge.send(client, Target(user=user, channel=channel, ephemeral=True), [reply])
