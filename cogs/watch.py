"""Watch mode: a member who joins or changes their avatar is checked, and when the picture shows
signals of AI generation (at the server's threshold) or joins a group of shared avatars, a short
note goes to the mod-log channel with a "Details" button. Never any action against the member.

Also the daily retention job: stored results older than the retention time are deleted."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands, tasks

from bot.audit import Member
from bot.core.reply import Reply
from bot.core.sessions import button_id
from cogs.audit import PLATFORM, audit_member, audits_of, is_moderator, notice, rendered

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)


class NoteDetails(
    discord.ui.DynamicItem[discord.ui.Button], template=r"hc:note:(?P<member>\d{1,20})"
):
    """A mod-log note's "Details" button: rebuilt from storage, so it works after restarts."""

    def __init__(self, member_id: str) -> None:
        super().__init__(discord.ui.Button(label="Details", custom_id=note_button(member_id)))
        self.member_id = member_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> NoteDetails:
        return cls(match["member"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: HeadshotBot = interaction.client  # type: ignore[assignment]

        async def build() -> list[Reply]:
            if not await is_moderator(bot, interaction):
                return [notice("no_permission", "warning")]
            server = str(interaction.guild_id)
            details = await audits_of(bot).watch_details(PLATFORM, server, self.member_id)
            return [details or notice("watch_details_gone", "warning")]

        await bot.respond(interaction, build)


def note_button(member_id: str) -> str:
    return button_id(member_id, "note")


class Watch(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.audits = audits_of(bot)
        # A wave of joins is checked a few at a time (each is a download and an analysis).
        self._slots = asyncio.Semaphore(max(1, bot.settings.audit.concurrency // 4))

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(NoteDetails)
        self.retention.start()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(NoteDetails)
        self.retention.cancel()

    # -- events ------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if not member.bot:
            await self.check(member.guild, member)

    @commands.Cog.listener()
    async def on_raw_member_update(self, data: dict[str, Any]) -> None:
        """Every GUILD_MEMBER_UPDATE (see HeadshotBot._report_raw_member_updates): a new
        server avatar, or a new account avatar (Discord sends that to each server too)."""
        guild = self.bot.get_guild(int(data["guild_id"]))
        if guild is None or data.get("user", {}).get("bot"):
            return
        member = discord.Member(data=data, guild=guild, state=self.bot._connection)  # type: ignore[arg-type]
        await self.check(guild, member)

    async def check(self, guild: discord.Guild, member: discord.Member) -> None:
        try:
            server = str(guild.id)
            prefs = await self.audits.server_settings(PLATFORM, server)
            channel = guild.get_channel(int(prefs.modlog_channel or 0))
            if not prefs.watch or not isinstance(channel, discord.abc.Messageable):
                return
            subject = audit_member(member, self.bot.settings.discord.audit_avatar_size)
            if await self.audits.avatar_unchanged(PLATFORM, server, subject):
                return  # a nickname or role change, not a new picture
            async with self._slots:
                note = await self.audits.watch(PLATFORM, server, subject, self._fetch)
            if note is not None:
                await self.post(channel, subject, note)
        except Exception:
            log.exception("watch mode failed for member %s of guild %s", member.id, guild.id)

    async def _fetch(self, member: Member) -> bytes:
        assert member.avatar_url is not None
        return await self.bot.download_avatar(member.avatar_url)

    async def post(self, channel: discord.abc.Messageable, member: Member, note: Reply) -> None:
        out = rendered(note, self.bot)
        out.rows = [[(note_button(member.id), "Details")]]
        await channel.send(**out.kwargs())

    # -- retention ---------------------------------------------------------------------------
    @tasks.loop(hours=24)
    async def retention(self) -> None:
        try:
            if self.bot.runs_shard_zero:  # app-wide: once, not in every shard's process
                await self.audits.purge()
            for guild in self.bot.guilds:  # this process's shards' guilds
                await self.audits.purge_server(PLATFORM, str(guild.id))
        except Exception:
            log.exception("retention job failed")

    @retention.before_loop
    async def _before_retention(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Watch(bot))
