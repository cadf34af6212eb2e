"""Slack's side of the moderator flows: `SlackModeration` implements
bot.audit.port.ModerationPort for one workspace, `DmView` is where an audit shows itself (one
message in the requester's DM, edited with chat.update)."""

from __future__ import annotations

import logging
from typing import Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.members import (
    avatar_fetcher,
    is_admin,
    is_moderator,
    list_members,
)
from bot.audit.audit_service import ServerSettings
from bot.audit.flows import worded
from bot.audit.port import (
    AuditOptions,
    AuditView,
    DeliveryFailed,
    MembersUnavailable,
    OnListed,
    ServerInfo,
)
from bot.audit.runner import Member
from bot.core.reply import Reply
from bot.core.request import Platform
from bot.render.slack import fallback_text, render_blocks

log = logging.getLogger(__name__)


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error"))


class DmView:
    """Progress as one message in the requester's DM, edited in place; the report there too."""

    place: Literal["here", "dm"] = "dm"

    def __init__(self, bridge: Bridge, client: AsyncWebClient, user: str) -> None:
        self.bridge = bridge
        self.client = client
        self.user = user
        self._channel: str | None = None
        self._ts: str | None = None

    async def show(self, reply: Reply) -> None:
        # Buttons keep their complete ids (an audit's Cancel: hc:cancel:<run id>).
        blocks = render_blocks(reply, lambda ident: ident)
        try:
            if self._channel is None:
                self._channel = await self.bridge.dm_channel(self.client, self.user)
            if self._ts is None:
                posted = await self.client.chat_postMessage(
                    channel=self._channel, blocks=blocks, text=fallback_text(reply)
                )
                self._ts = posted["ts"]
                return
            await self.client.chat_update(
                channel=self._channel, ts=self._ts, blocks=blocks, text=fallback_text(reply)
            )
        except SlackApiError as exc:  # only the progress message failed: the audit goes on
            log.warning("could not update the progress message: %s", _error(exc))

    async def tell(self, replies: list[Reply]) -> bool:
        target = Target(user=self.user, channel=self._channel)
        await self.bridge.send(self.client, target, replies)
        return True


class SlackModeration:
    """One workspace, with the token of its installation."""

    platform = Platform.SLACK

    def __init__(self, bridge: Bridge, client: AsyncWebClient, team: str) -> None:
        self.bridge = bridge
        self.client = client
        self.server_id = team
        self._info: ServerInfo | None = None
        self._fetch = avatar_fetcher(bridge)

    async def server(self) -> ServerInfo:
        """The workspace's name, and a link template for its members' profiles when Slack
        says where the workspace lives (https://<domain>.slack.com/team/<id>)."""
        if self._info is None:
            info = await self.client.auth_test()
            url = str(info.get("url") or "").rstrip("/").replace("{", "").replace("}", "")
            name = str(info.get("team") or worded("report", self.platform)["this_server"])
            self._info = ServerInfo(name, url + "/team/{id}" if url else None)
        return self._info

    async def fetch_avatar(self, member: Member) -> bytes:
        return await self._fetch(member)

    async def is_moderator(self, user_id: str) -> bool:
        return await is_moderator(self.bridge, self.client, self.server_id, user_id)

    async def is_admin(self, user_id: str) -> bool:
        return await is_admin(self.client, user_id)

    def members_problem(self) -> Reply | None:
        return None

    async def members(self, options: AuditOptions, on_listed: OnListed) -> list[Member]:
        page_size = self.bridge.settings.slack.users_page_size
        try:
            return await list_members(self.client, page_size, on_listed)
        except SlackApiError as exc:
            log.warning("could not list the members: %s", _error(exc))
            raise MembersUnavailable("platform_error", error=_error(exc)) from exc

    async def post(self, channel_id: str, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                await self.bridge.deliver(self.client, Target(user="", channel=channel_id), reply)
            except SlackApiError as exc:
                raise DeliveryFailed(_error(exc)) from exc

    async def direct_message(self, user_id: str, replies: list[Reply]) -> None:
        await self.bridge.send(self.client, Target(user=user_id), replies)

    def resume_view(self, requester: str) -> AuditView:
        return DmView(self.bridge, self.client, requester)

    def channel_label(self, channel_id: str) -> str:
        return channel_id

    def role_label(self, role_id: str) -> str:
        return role_id

    def settings_notes(self, prefs: ServerSettings) -> tuple[list[str], list[str]]:
        hints = [worded("settings", self.platform)["channel_watch_how"]]
        return [], hints if prefs.watch_channels else []
