"""Watch mode: a member who joins (team_join) or changes their avatar (user_change) is checked,
and a short note with a Details button goes to the mod-log channel when the avatar shows
signals at or above the workspace's threshold, or matches other members' avatars. Nothing is
ever done to the member."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.members import allowed, avatar_fetcher, to_member
from bot.core.reply import Action, Reply
from bot.core.sessions import button_id, parse_button_id
from bot.render.slack import messages

log = logging.getLogger(__name__)

PLATFORM = "slack"
DETAILS_NAME = "auditnote"
DETAILS = re.compile(rf"^hc:{DETAILS_NAME}:")


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("team_join")
    async def team_join(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient):
        bridge.jobs.spawn(_check(bridge, client, body, event.get("user") or {}, joined=True))

    @app.event("user_change")
    async def user_change(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient):
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
    audits = bridge.audits
    team = str(body.get("team_id") or user.get("team_id") or "")
    member = to_member(user)
    if audits is None or member is None or not member.avatar_url or not team:
        return
    prefs = await audits.server_settings(PLATFORM, team)
    if not prefs.watch:
        return
    if not joined and await audits.avatar_unchanged(PLATFORM, team, member):
        return  # user_change also fires for names, status and the like
    note = await audits.watch(PLATFORM, team, member, avatar_fetcher(bridge))
    if note is None or not prefs.modlog_channel:
        return
    note.actions.append(Action(button_id(member.id, DETAILS_NAME), "Details"))
    await bridge.send(client, Target(user=member.id, channel=prefs.modlog_channel), [note])


async def _details(
    bridge: Bridge, client: AsyncWebClient, body: dict[str, Any], member_id: str
) -> None:
    user = body["user"]["id"]
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    channel = (body.get("channel") or {}).get("id")
    # Only the person who pressed sees the details.
    here = Target(user=user, channel=channel, ephemeral=True)
    if bridge.audits is None:
        return
    if not await allowed(bridge, client, team, user, here, messages()["watch"]["details_refused"]):
        return
    details = await bridge.audits.watch_details(PLATFORM, team, member_id)
    gone = Reply(title="Avatar details", summary=messages()["watch"]["details_gone"])
    await bridge.send(client, here, [details or gone])
