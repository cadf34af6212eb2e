"""Direct messages: a photo gets the same report as /headshot-check, text gets an answer.

DMs reach the bot with their content without the privileged message-content intent."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import messages
from bot.core.apology import apology
from bot.core.request import Kind, Platform, Request

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)


class DirectMessages(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is not None or message.author.bot:
            return
        if not message.content.strip() and not message.attachments:
            return
        try:
            async with self.bot.jobs, message.channel.typing():
                request = Request(
                    Kind.MESSAGE,
                    Platform.DISCORD,
                    user_id=str(message.author.id),
                    text=message.content,
                    # Already in a DM: "send it to me in a DM" would be no help here.
                    platform_note=(
                        messages.text("discord.dm_platform_note")
                        if self.bot.platform_note(message.attachments)
                        else None
                    ),
                    note_files=self.bot.note_files(message.attachments),
                )
                await self.bot.fetch_images(request, message.attachments)
                replies = await self.bot.service.handle(request)
                await self.bot.send_to(message.channel, replies)
        except Exception:
            sorry = apology(log, "DM failed (user %s)", message.author.id)
            try:
                await self.bot.send_to(message.channel, [sorry])
            except discord.HTTPException:
                log.warning("could not send the apology: %s", sorry.summary)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(DirectMessages(bot))
