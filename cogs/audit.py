"""/headshot-audit: the moderator avatar audit of a server, and its Cancel button.

The flow (who may, members, progress, report, resume) is bot.audit.flows'; Discord's side of
it is bot.adapters.discord_moderation. This cog parses the command and hands it on. Nothing
here ever acts against a member."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.adapters.discord_moderation import (
    DiscordModeration,
    InteractionView,
    answer_in_guild,
    moderation_port,
)
from bot.audit.flows import ModerationFlows, notice
from bot.audit.port import AuditOptions
from bot.core.buttons import CANCEL, cancel_button, moderator_pattern
from bot.core.request import Platform

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)


def flows_of(bot: HeadshotBot) -> ModerationFlows:
    assert bot.moderation is not None  # these cogs are loaded only with an AuditService
    return bot.moderation


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=moderator_pattern(CANCEL, "[0-9a-f]{8,64}"),
):
    """The Cancel button of an audit's progress message (bot.audit.audit_service.progress_reply)."""

    def __init__(self, run_id: str) -> None:
        label = messages.text("moderation.progress.cancel")
        super().__init__(discord.ui.Button(label=label, custom_id=cancel_button(run_id)))
        self.run_id = run_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(match["arg"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("HeadshotBot", interaction.client)  # our cogs run only in HeadshotBot
        flows = flows_of(bot)
        await answer_in_guild(
            bot, interaction, lambda port, user: flows.cancel(port, user, self.run_id)
        )


class Audit(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.flows = flows_of(bot)
        self._resumed = False

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CancelButton)

    async def cog_unload(self) -> None:
        """On shutdown, audits stop where they are and are resumed at the next start."""
        self.bot.remove_dynamic_items(CancelButton)
        await self.flows.stop()

    @app_commands.command(
        name="headshot-audit",
        description="Check members' avatars for signals of AI generation (moderators)",
    )
    @app_commands.guild_only()
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.rename(only_new="only-new")
    @app_commands.describe(
        role="Only members with this role",
        only_new="Only members who joined since the last finished audit",
    )
    async def headshot_audit(
        self,
        interaction: discord.Interaction,
        role: discord.Role | None = None,
        only_new: bool = False,
    ) -> None:
        port = moderation_port(self.bot, interaction)
        requester = str(interaction.user.id)
        if port is None:
            await self.bot.answer_at_once(
                interaction, notice("guild_only", Platform.DISCORD, "warning")
            )
            return
        refusal = await self.flows.open_audit(port, requester)
        if refusal is not None:
            await self.bot.answer_at_once(interaction, refusal)
            return
        view = InteractionView(self.bot, interaction)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await view.show(await self.flows.started(port, view))
        except BaseException:
            self.flows.release(port)
            raise
        options = AuditOptions(role=str(role.id) if role else None, only_new=only_new)
        self.flows.start_audit(port, requester, options, view)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Resume the audits a restart interrupted (on_ready comes again after a fresh
        gateway session: only the first time)."""
        if self._resumed:
            return
        self._resumed = True
        for run in await self.flows.audits.unfinished(Platform.DISCORD):
            if not self.bot.serves_guild(int(run.server_id)):
                continue  # another process's shards serve that guild; it resumes it there
            guild = self.bot.get_guild(int(run.server_id))
            if guild is None or not self.bot.intents.members:
                log.warning("cannot resume audit %s of guild %s now", run.id, run.server_id)
                continue
            await self.flows.resume(DiscordModeration(self.bot, guild), run)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Audit(bot))
