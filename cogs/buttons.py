"""The persistent handler for reply buttons (custom ids `hc:<page>:<token>`, made by
bot.core.buttons.button_id). It answers from the reply cache, also after a restart (then:
"this result has expired")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord.ext import commands

from bot.core.buttons import button_id, page_pattern

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot


class ReplyButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    # Not the moderator buttons (cogs/audit.py, cogs/watch.py), which have handlers of their own.
    template=page_pattern(),
):
    def __init__(self, name: str, token: str) -> None:
        super().__init__(discord.ui.Button(label=name, custom_id=button_id(token, name)))
        self.name = name
        self.token = token

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReplyButton:
        return cls(match["name"], match["arg"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("HeadshotBot", interaction.client)  # our cogs run only in HeadshotBot

        async with bot.deferred(interaction):
            await bot.answer(interaction, [bot.replies.page(self.token, self.name)])


class Buttons(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReplyButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReplyButton)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Buttons(bot))
