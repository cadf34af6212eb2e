"""/headshot-settings (moderators): mod-log channel, watch mode, threshold, retention and the
moderator role, shown after every change. /headshot-forget: anyone about themself, moderators
about a member of their server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.adapters.discord_moderation import answer_in_guild, moderation_port
from bot.analysis.pipeline.findings import Strength
from bot.audit.flows import SettingsChange, notice
from bot.core.request import Platform
from cogs.audit import flows_of

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

STRENGTHS = sorted(Strength, key=lambda s: s.rank)  # weakest first
STRENGTH_CHOICES = [app_commands.Choice(name=s.value, value=s.value) for s in STRENGTHS]
CLEAR_CHOICES = [
    app_commands.Choice(name="mod-log channel", value="modlog_channel"),
    app_commands.Choice(name="moderator role", value="moderator_role"),
    app_commands.Choice(
        name="watched channels (channel watch off everywhere)", value="watch_channels"
    ),
]


class Settings(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.flows = flows_of(bot)

    @app_commands.command(
        name="headshot-settings",
        description="Audit and watch-mode settings for this server (moderators)",
    )
    @app_commands.guild_only()
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.rename(
        modlog_channel="modlog-channel",
        min_strength="min-strength",
        retention_days="retention-days",
        moderator_role="moderator-role",
        watch_channel="watch-channel",
        channel_watch="channel-watch",
    )
    @app_commands.describe(
        modlog_channel="Where watch-mode notes and audit reports go",
        watch="Check the avatar of members who join or change it",
        min_strength="The weakest evidence that gets an avatar noted or listed",
        retention_days="Delete stored results after this many days",
        moderator_role="A role that may use the moderator commands (needs Manage Server to set)",
        watch_channel="A channel where posted images get 🔎 when they show signals (opt-in)",
        channel_watch="Channel watch on or off for watch-channel (default: on)",
        clear="Unset a setting",
    )
    @app_commands.choices(min_strength=STRENGTH_CHOICES, clear=CLEAR_CHOICES)
    async def headshot_settings(
        self,
        interaction: discord.Interaction,
        modlog_channel: discord.TextChannel | None = None,
        watch: bool | None = None,
        min_strength: app_commands.Choice[str] | None = None,
        retention_days: app_commands.Range[int, 1, 3650] | None = None,
        moderator_role: discord.Role | None = None,
        watch_channel: discord.TextChannel | None = None,
        channel_watch: bool | None = None,
        clear: app_commands.Choice[str] | None = None,
    ) -> None:
        change = SettingsChange()
        if modlog_channel is not None:
            change.fields["modlog_channel"] = str(modlog_channel.id)
        if watch is not None:
            change.fields["watch"] = watch
        if min_strength is not None:
            change.fields["min_strength"] = min_strength.value
        if retention_days is not None:
            change.fields["retention_days"] = float(retention_days)
        if moderator_role is not None:
            change.fields["moderator_role"] = str(moderator_role.id)
        if clear is not None:
            change.fields[clear.value] = [] if clear.value == "watch_channels" else None
        if watch_channel is not None:
            change.watch_channel = (str(watch_channel.id), channel_watch is not False)
        elif channel_watch is not None:
            which = messages.text("moderation.discord.settings.channel_watch_which")
            change = SettingsChange(problem=which)
        await answer_in_guild(
            self.bot, interaction, lambda port, user: self.flows.settings(port, user, change)
        )

    @app_commands.command(
        name="headshot-forget",
        description="Delete what Headshot Check stored about you (moderators: about a member)",
    )
    @app_commands.describe(member="Moderators: the member whose stored results to delete")
    async def headshot_forget(
        self, interaction: discord.Interaction, member: discord.User | None = None
    ) -> None:
        user = str(interaction.user.id)
        port = moderation_port(self.bot, interaction)
        async with self.bot.deferred(interaction):
            if member is None or member.id == interaction.user.id:
                reply = await self.flows.forget_self(Platform.DISCORD, user)
            elif port is None:
                reply = notice("refused", Platform.DISCORD, "warning")
            else:
                name = member.display_name
                reply = await self.flows.forget_member(port, user, str(member.id), name)
            await self.bot.answer(interaction, [reply])


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Settings(bot))
