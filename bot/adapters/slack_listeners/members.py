"""Workspace members for audits and watch mode: users.list with cursor pagination, a Slack user
as an audit `Member`, avatar downloads from Slack's avatar hosts, and who may moderate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge
from bot.audit.port import MissingPermission
from bot.audit.runner import Fetch, Member
from bot.core.download import fetch
from bot.core.request import Platform

log = logging.getLogger(__name__)

SLACKBOT = "USLACKBOT"  # Slack's own bot is not marked is_bot
PAGE_RETRIES = 5  # users.list is Tier 2: big workspaces meet its rate limit


def to_member(user: dict[str, Any]) -> Member | None:
    """The audit's view of a user; None for bots, apps and deactivated accounts."""
    if user.get("deleted") or user.get("is_bot") or user.get("is_app_user"):
        return None
    if user.get("id") in (None, SLACKBOT):
        return None
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or user["id"]
    )
    # Without a picture of their own, Slack shows a stock (or gravatar) image: not checked.
    custom = bool(profile.get("is_custom_image") or profile.get("image_original"))
    url = (profile.get("image_original") or profile.get("image_512")) if custom else None
    return Member(str(user["id"]), str(name), url, profile.get("avatar_hash") if url else None)


async def list_members(
    client: AsyncWebClient,
    page_size: int,
    on_page: Callable[[int], Awaitable[None]] | None = None,
) -> list[Member]:
    """Every human member, over all users.list pages. Listed before the audit starts so the
    progress message can say "of N" and estimate the time left; `on_page(count so far)`."""
    members: list[Member] = []
    cursor: str | None = None
    while True:
        resp = await _page(client, page_size, cursor)
        members += [m for u in resp.get("members") or [] if (m := to_member(u))]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return members
        if on_page is not None:
            await on_page(len(members))


async def _page(client: AsyncWebClient, page_size: int, cursor: str | None) -> Any:
    for attempt in range(PAGE_RETRIES + 1):
        try:
            kwargs: dict[str, Any] = {"limit": page_size}
            if cursor:
                kwargs["cursor"] = cursor
            return await client.users_list(**kwargs)
        except SlackApiError as exc:
            if exc.response.get("error") != "ratelimited" or attempt == PAGE_RETRIES:
                raise
            wait = float(exc.response.headers.get("Retry-After", "1") or 1)
            log.info("users.list rate limited; waiting %.0f s", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def avatar_fetcher(bridge: Bridge) -> Fetch:
    """Downloads from the avatar hosts only, and without the bot token (avatars are public)."""
    s = bridge.settings

    async def get(member: Member) -> bytes:
        assert member.avatar_url is not None
        return await fetch(
            bridge.session(),
            member.avatar_url,
            allowed_hosts=s.slack.avatar_hosts,
            max_bytes=s.limits.max_bytes,
            timeout_s=s.download.timeout_s,
            chunk_bytes=s.download.chunk_bytes,
        )

    return get


class MissingScope(MissingPermission):
    """The app was installed without a scope this feature needs (an older manifest)."""


async def is_admin(client: AsyncWebClient, user: str) -> bool:
    """Workspace admins and owners: the only ones who choose who else moderates."""
    info = (await _call(client.users_info, user=user) or {}).get("user") or {}
    return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))


async def is_moderator(bridge: Bridge, client: AsyncWebClient, team: str, user: str) -> bool:
    """Workspace admins and owners, or members of the configured moderators' user group."""
    if await is_admin(client, user):
        return True
    assert bridge.audits is not None
    group = (await bridge.audits.server_settings(Platform.SLACK, team)).moderator_role
    if not group:
        return False
    members = (await _call(client.usergroups_users_list, usergroup=group) or {}).get("users")
    return user in (members or [])


async def _call(method: Any, **kwargs: Any) -> Any:
    """A Web API call whose failure means "not a moderator", except a missing scope, which
    the admin has to hear about."""
    try:
        return await method(**kwargs)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == "missing_scope":
            raise MissingScope(str(exc.response.get("needed") or "users:read")) from exc
        log.warning("moderator check failed: %s", error)
        return None
