"""Questions and disclosure text: /headshot-ask, /headshot-disclose, /headshot-help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.request import Kind, Platform, Request
from cogs.check import CONTEXT_CHOICES

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot


class Ask(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot

    async def _answer(self, interaction: discord.Interaction, kind: Kind, **kw: object) -> None:
        async with self.bot.deferred(interaction):
            user = str(interaction.user.id)
            request = Request(kind, Platform.DISCORD, user_id=user, **kw)  # type: ignore[arg-type]
            await self.bot.handle(interaction, request)

    @app_commands.command(name="headshot-ask", description="Ask a question about AI headshots")
    @app_commands.describe(question="e.g. Is an AI headshot okay on LinkedIn?")
    async def headshot_ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]
    ) -> None:
        await self._answer(interaction, Kind.ASK, text=question)

    @app_commands.command(
        name="headshot-disclose", description="Suggested wording to disclose an AI headshot"
    )
    @app_commands.describe(
        context="Where you will use the photo",
        tool="The AI tool you used (optional)",
        edit_only="AI only edited a real photo of you",
    )
    @app_commands.choices(context=CONTEXT_CHOICES)
    async def headshot_disclose(
        self,
        interaction: discord.Interaction,
        context: app_commands.Choice[str],
        tool: app_commands.Range[str, 1, 100] | None = None,
        edit_only: bool = False,
    ) -> None:
        await self._answer(
            interaction, Kind.DISCLOSE, context=context.value, tool=tool, edit_only=edit_only
        )

    @app_commands.command(name="headshot-help", description="How to use Headshot Check")
    async def headshot_help(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, Kind.HELP)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Ask(bot))
