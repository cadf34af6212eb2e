"""Watch mode: a member who joins or changes their avatar is checked, and when the picture shows
signals of AI generation (at the server's threshold) or joins a group of shared avatars, a short
note goes to the mod-log channel with a "Details" button. Never any action against the member.

Also the daily retention job: stored results older than the retention time are deleted."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord.ext import commands, tasks

from bot import messages
from bot.adapters.discord_moderation import (
    DiscordModeration,
    answer_in_guild,
    audit_member,
)
from bot.core.buttons import NOTE, moderator_pattern, note_button
from bot.core.request import Platform
from cogs.audit import flows_of

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)


class NoteDetails(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=moderator_pattern(NOTE, r"\d{1,20}"),
):
    """A mod-log note's "Details" button: rebuilt from storage, so it works after restarts."""

    def __init__(self, member_id: str) -> None:
        label = messages.text("moderation.note.details")
        super().__init__(discord.ui.Button(label=label, custom_id=note_button(member_id)))
        self.member_id = member_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> NoteDetails:
        return cls(match["arg"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("HeadshotBot", interaction.client)  # our cogs run only in HeadshotBot
        flows = flows_of(bot)
        await answer_in_guild(
            bot, interaction, lambda port, user: flows.note_details(port, user, self.member_id)
        )


class Watch(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.flows = flows_of(bot)
        self.audits = self.flows.audits

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
            await self.check(member.guild, member, joined=True)

    @commands.Cog.listener()
    async def on_raw_member_update(self, data: dict[str, Any]) -> None:
        """Every GUILD_MEMBER_UPDATE (see HeadshotBot._report_raw_member_updates): a new
        server avatar, or a new account avatar (Discord sends that to each server too)."""
        guild = self.bot.get_guild(int(data["guild_id"]))
        if guild is None or data.get("user", {}).get("bot"):
            return
        await self.check(guild, self.bot.member_of(data, guild), joined=False)

    async def check(self, guild: discord.Guild, member: discord.Member, *, joined: bool) -> None:
        try:
            subject = audit_member(member, self.bot.settings.discord.audit_avatar_size)
            await self.flows.watch(DiscordModeration(self.bot, guild), subject, joined=joined)
        except Exception:
            log.exception("watch mode failed for member %s of guild %s", member.id, guild.id)

    # -- retention ---------------------------------------------------------------------------
    @tasks.loop(hours=24)
    async def retention(self) -> None:
        try:
            if self.bot.runs_shard_zero:  # app-wide: once, not in every shard's process
                await self.audits.purge()
            for guild in self.bot.guilds:  # this process's shards' guilds
                await self.audits.purge_server(Platform.DISCORD, str(guild.id))
        except Exception:
            log.exception("retention job failed")

    @retention.before_loop
    async def _before_retention(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Watch(bot))
