"""Discord's side of the moderator flows: `DiscordModeration` implements
bot.audit.port.ModerationPort for one guild, `InteractionView` and `LogView` its AuditViews.

Members come from the gateway (member chunking, which needs the privileged Server Members
intent); avatars from Discord's CDN only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

import discord

from bot import messages
from bot.audit.audit_service import ServerSettings
from bot.audit.flows import notice, worded
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

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)

MEMBER_URL = "https://discord.com/users/{id}"  # a member's profile, for the audit report
INTERACTION_LIFE_S = 15 * 60  # an interaction's token, and what it says of the sender, lasts


def audit_member(member: discord.Member, size: int) -> Member:
    """A server avatar wins over the account avatar (that is what others see here). Default
    avatars are Discord's own pictures: nothing to check, no download."""
    joined = member.joined_at.timestamp() if member.joined_at else None
    asset = member.guild_avatar or member.avatar
    if asset is None:
        return Member(str(member.id), member.display_name, None, joined_at=joined)
    url = asset.replace(size=size, static_format="png").url
    return Member(str(member.id), member.display_name, url, asset.key, joined)


class InteractionView:
    """An audit shown by editing the deferred response, while the interaction lasts (15
    minutes); a longer audit goes on without it. The report comes as a follow-up."""

    place: Literal["here", "dm"] = "here"

    def __init__(self, bot: HeadshotBot, interaction: discord.Interaction) -> None:
        self.bot = bot
        self.interaction = interaction
        self.live = True

    async def show(self, reply: Reply) -> None:
        if not self.live:
            return
        try:
            await self.bot.edit_response(self.interaction, reply)
        except discord.HTTPException as exc:
            self.live = False
            log.info("audit progress no longer shown: %r", exc)

    async def tell(self, replies: list[Reply]) -> bool:
        try:
            await self.bot.answer(self.interaction, replies)
        except discord.HTTPException as exc:  # the interaction token expired
            log.info("audit follow-up failed (%r); sending a DM", exc)
            return False
        return True


class LogView:
    """A resumed audit: no interaction to show it in; progress goes to the log."""

    place: Literal["here", "dm"] = "dm"

    def __init__(self, run_label: str) -> None:
        self.run_label = run_label

    async def show(self, reply: Reply) -> None:
        log.info("resumed audit %s: %s", self.run_label, reply.summary)

    async def tell(self, replies: list[Reply]) -> bool:
        return False


class DiscordModeration:
    """One guild. With the interaction a command came in, the person who sent it is judged
    by its resolved permissions (Discord's own answer for that member and channel)."""

    platform = Platform.DISCORD

    def __init__(
        self,
        bot: HeadshotBot,
        guild: discord.Guild,
        interaction: discord.Interaction | None = None,
    ) -> None:
        self.bot = bot
        self.guild = guild
        self.interaction = interaction
        self._received = time.monotonic()
        self.server_id = str(guild.id)

    async def server(self) -> ServerInfo:
        return ServerInfo(self.guild.name, MEMBER_URL)

    # -- who may ---------------------------------------------------------------------------
    async def _member(
        self, user_id: str
    ) -> tuple[discord.Member | discord.User, discord.Permissions] | None:
        """The person and their permissions: from the interaction when it is theirs and still
        current (Discord's own answer, for its 15 minutes), else their server-wide permissions
        fetched now (None: not in the server)."""
        inter = self.interaction
        current = time.monotonic() - self._received < INTERACTION_LIFE_S
        if inter is not None and str(inter.user.id) == user_id and current:
            return inter.user, inter.permissions
        try:
            member = self.guild.get_member(int(user_id)) or await self.guild.fetch_member(
                int(user_id)
            )
        except discord.NotFound:
            return None
        return member, member.guild_permissions

    async def is_moderator(self, user_id: str) -> bool:
        """Manage Server, or the moderator role set with /headshot-settings. Checked at run
        time: default permissions only hide commands, and server admins change who sees them."""
        found = await self._member(user_id)
        if found is None:
            return False
        user, perms = found
        if perms.manage_guild or perms.administrator:
            return True
        assert self.bot.audits is not None
        prefs = await self.bot.audits.server_settings(self.platform, self.server_id)
        if not prefs.moderator_role or not isinstance(user, discord.Member):
            return False
        return user.get_role(int(prefs.moderator_role)) is not None

    async def is_admin(self, user_id: str) -> bool:
        found = await self._member(user_id)
        return found is not None and found[1].manage_guild

    # -- members ---------------------------------------------------------------------------
    def members_problem(self) -> Reply | None:
        if self.bot.intents.members:
            return None
        return notice("members_intent", self.platform, "warning")

    async def members(self, options: AuditOptions, on_listed: OnListed) -> list[Member]:
        d = self.bot.settings.discord
        try:
            found = await asyncio.wait_for(self.guild.chunk(cache=False), d.audit_chunk_timeout_s)
        except TimeoutError:
            log.warning("member chunks for guild %s did not arrive in time", self.guild.id)
            self.bot.forget_member_request(self.guild.id)
            raise MembersUnavailable("timeout") from None
        role = int(options.role) if options.role else None
        chosen = [m for m in found if not m.bot and (role is None or m.get_role(role))]
        return [audit_member(m, d.audit_avatar_size) for m in chosen]

    async def fetch_avatar(self, member: Member) -> bytes:
        assert member.avatar_url is not None
        return await self.bot.download_avatar(member.avatar_url)

    # -- posting ---------------------------------------------------------------------------
    async def post(self, channel_id: str, replies: list[Reply]) -> None:
        channel = self.guild.get_channel(int(channel_id))
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryFailed("the channel is gone")
        try:
            await self.bot.send_to(channel, replies)
        except discord.HTTPException as exc:
            raise DeliveryFailed(exc.text or str(exc.status)) from exc

    async def direct_message(self, user_id: str, replies: list[Reply]) -> None:
        await self.bot.send_dm(int(user_id), replies)

    def resume_view(self, requester: str) -> AuditView:
        return LogView(f"of guild {self.server_id}")

    # -- words -----------------------------------------------------------------------------
    def channel_label(self, channel_id: str) -> str:
        return f"<#{channel_id}>"

    def role_label(self, role_id: str) -> str:
        role = self.guild.get_role(int(role_id))
        name = role.name if role else messages.text("moderation.discord.settings.deleted_role")
        return f"{name} ({role_id})"

    def settings_notes(self, prefs: ServerSettings) -> tuple[list[str], list[str]]:
        w = worded("settings", self.platform)
        intents = self.bot.intents
        problems, hints = [], []
        if prefs.watch and not intents.members:
            problems.append(w["watch_needs_intent"])
        if prefs.moderator_role:
            hints.append(w["role_hint"])
        if prefs.watch_channels:
            hints.append(w["channel_watch_how"])
            if not intents.message_content:
                problems.append(w["channel_watch_intent"])
        return problems, hints


def moderation_port(bot: HeadshotBot, interaction: discord.Interaction) -> DiscordModeration | None:
    """The port for the guild an interaction came from; None outside a guild."""
    guild = interaction.guild
    return DiscordModeration(bot, guild, interaction) if guild is not None else None


async def answer_in_guild(
    bot: HeadshotBot,
    interaction: discord.Interaction,
    flow: Callable[[DiscordModeration, str], Awaitable[Reply]],
) -> None:
    """Defer, run `flow(port, user)` for the interaction's guild (outside one: say it works
    only in a server), and answer: the shape of every moderator button and command."""
    port = moderation_port(bot, interaction)
    async with bot.deferred(interaction):
        if port is None:
            reply = notice("guild_only", Platform.DISCORD, "warning")
        else:
            reply = await flow(port, str(interaction.user.id))
        await bot.answer(interaction, [reply])
