"""/headshot-settings (moderators): mod-log channel, watch mode, threshold, retention and the
moderator role, shown after every change. /headshot-forget: anyone about themself, moderators
about a member of their server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.audit.service import ServerSettings
from bot.core.reply import Reply, Section
from cogs.audit import PLATFORM, audits_of, is_moderator, notice, wording

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

STRENGTHS = ["weak", "moderate", "strong", "conclusive"]
STRENGTH_CHOICES = [app_commands.Choice(name=s, value=s) for s in STRENGTHS]
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
        self.audits = audits_of(bot)

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
        async def build() -> list[Reply]:
            if interaction.guild is None:
                return [notice("guild_only", "warning")]
            if not await is_moderator(self.bot, interaction):
                return [notice("no_permission", "warning")]
            changes: dict[str, Any] = {}
            if modlog_channel is not None:
                changes["modlog_channel"] = str(modlog_channel.id)
            if watch is not None:
                changes["watch"] = watch
            if min_strength is not None:
                changes["min_strength"] = min_strength.value
            if retention_days is not None:
                changes["retention_days"] = float(retention_days)
            if channel_watch is not None and watch_channel is None:
                return [notice("channel_watch_which", "warning")]
            touches_role = moderator_role is not None or (clear and clear.value == "moderator_role")
            if touches_role and not interaction.permissions.manage_guild:
                # The moderator role cannot hand out its own powers.
                return [notice("no_permission", "warning")]
            if moderator_role is not None:
                changes["moderator_role"] = str(moderator_role.id)
            if clear is not None:
                changes[clear.value] = [] if clear.value == "watch_channels" else None
            server = str(interaction.guild.id)
            if watch_channel is not None:
                on = channel_watch is not False
                await self.audits.set_channel_watch(PLATFORM, server, str(watch_channel.id), on)
            if changes:
                prefs = await self.audits.update_settings(PLATFORM, server, **changes)
            else:
                prefs = await self.audits.server_settings(PLATFORM, server)
            return [self.settings_reply(interaction.guild, prefs)]

        await self.bot.respond(interaction, build)

    def settings_reply(self, guild: discord.Guild, prefs: ServerSettings) -> Reply:
        w = wording()["settings"]
        role = guild.get_role(int(prefs.moderator_role)) if prefs.moderator_role else None
        lines = [
            "Mod-log channel: "
            + (f"<#{prefs.modlog_channel}>" if prefs.modlog_channel else w["modlog_unset"]),
            f"Watch mode: {'on' if prefs.watch else 'off'}",
            f"Minimum strength noted: {prefs.min_strength}",
            f"Retention: {prefs.retention_days:g} days",
            "Moderator role: "
            + (
                f"{role.name if role else 'deleted role'} ({prefs.moderator_role})"
                if prefs.moderator_role
                else w["role_unset"]
            ),
            "Channel watch: "
            + (
                ", ".join(f"<#{c}>" for c in prefs.watch_channels)
                if prefs.watch_channels
                else w["channel_watch_unset"]
            ),
        ]
        notes = []
        if prefs.watch and not prefs.modlog_channel:
            notes.append(w["watch_needs_channel"])
        if prefs.watch and not self.bot.intents.members:
            notes.append(w["watch_needs_intent"])
        if prefs.moderator_role:
            notes.append(w["role_hint"])
        if prefs.watch_channels:
            notes.append(w["channel_watch_how"])
            if not self.bot.intents.message_content:
                notes.append(w["channel_watch_intent"])
        days = min(prefs.retention_days, self.bot.settings.audit.retention_days)
        notes.append(w["retention_note"].format(days=f"{days:g}"))
        return Reply(
            title=w["title"].format(server=guild.name),
            summary=w["summary"],
            sections=[Section("Current settings", lines), Section("Notes", notes)],
            tone="warning" if len(notes) > 1 and prefs.watch else "info",
        )

    @app_commands.command(
        name="headshot-forget",
        description="Delete what Headshot Check stored about you (moderators: about a member)",
    )
    @app_commands.describe(member="Moderators: the member whose stored results to delete")
    async def headshot_forget(
        self, interaction: discord.Interaction, member: discord.User | None = None
    ) -> None:
        async def build() -> list[Reply]:
            if member is None or member.id == interaction.user.id:
                await self.audits.forget(PLATFORM, str(interaction.user.id))
                return [notice("forget_self")]
            if interaction.guild_id is None or not await is_moderator(self.bot, interaction):
                return [notice("no_permission", "warning")]
            await self.audits.forget(PLATFORM, str(member.id), str(interaction.guild_id))
            return [notice("forget_member", member=member.display_name)]

        await self.bot.respond(interaction, build)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Settings(bot))
