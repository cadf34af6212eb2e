"""Questions and disclosure text: /headshot-ask, /headshot-disclose, /headshot-help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.request import Kind, Request
from cogs.check import CONTEXT_CHOICES

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot


class Ask(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot

    def _request(self, interaction: discord.Interaction, kind: Kind, **kw: object) -> Request:
        return Request(kind, "discord", user_id=str(interaction.user.id), **kw)  # type: ignore[arg-type]

    @app_commands.command(name="headshot-ask", description="Ask a question about AI headshots")
    @app_commands.describe(question="e.g. Is an AI headshot okay on LinkedIn?")
    async def headshot_ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]
    ) -> None:
        async def build() -> Request:
            return self._request(interaction, Kind.ASK, text=question)

        await self.bot.respond(interaction, build)

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
        async def build() -> Request:
            return self._request(
                interaction, Kind.DISCLOSE, context=context.value, tool=tool, edit_only=edit_only
            )

        await self.bot.respond(interaction, build)

    @app_commands.command(name="headshot-help", description="How to use Headshot Check")
    async def headshot_help(self, interaction: discord.Interaction) -> None:
        async def build() -> Request:
            return self._request(interaction, Kind.HELP)

        await self.bot.respond(interaction, build)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Ask(bot))
