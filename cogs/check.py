"""Checking photos: /headshot-check, the "Check headshot" message menu and the "Check avatar"
user menu. Replies are ephemeral unless someone asks for a public one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.request import Kind, Platform, Request
from bot.guidance import CONTEXTS, context_label

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

# People pick "Company page", not "company-page"; the slug stays the value.
CONTEXT_CHOICES = [app_commands.Choice(name=context_label(c), value=c) for c in CONTEXTS]


class Check(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        # Context menus cannot be declared with decorators inside a cog: build them here and
        # add them to the tree in cog_load.
        self.menus = [
            app_commands.ContextMenu(name="Check headshot", callback=self.check_message),
            app_commands.ContextMenu(name="Check avatar", callback=self.check_avatar),
        ]

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    @app_commands.command(
        name="headshot-check", description="Check a profile photo for signs of AI generation"
    )
    @app_commands.describe(
        image="The photo (send the original file for the fullest check)",
        context="Where you will use it, for tailored advice and disclosure text",
        public="Show the result to everyone here (default: only you)",
    )
    @app_commands.choices(context=CONTEXT_CHOICES)
    async def headshot_check(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        context: app_commands.Choice[str] | None = None,
        public: bool = False,
    ) -> None:
        async with self.bot.deferred(interaction, ephemeral=not public):
            req = Request(
                Kind.CHECK,
                Platform.DISCORD,
                user_id=str(interaction.user.id),
                context=context.value if context else None,
                platform_note=self.bot.platform_note([image]),
                public=public,
            )
            await self.bot.fetch_images(req, [image])
            await self.bot.handle(interaction, req, ephemeral=not public)

    async def check_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        async with self.bot.deferred(interaction):
            req = Request(
                Kind.CHECK,
                Platform.DISCORD,
                user_id=str(interaction.user.id),
                platform_note=self.bot.platform_note(message.attachments),
                note_files=self.bot.note_files(message.attachments),
                for_owner=message.author.id == interaction.user.id,
            )
            await self.bot.fetch_images(req, message.attachments, images_only=True)
            await self.bot.handle(interaction, req)

    async def check_avatar(
        self, interaction: discord.Interaction, user: discord.Member | discord.User
    ) -> None:
        async with self.bot.deferred(interaction):
            req = Request(
                Kind.CHECK,
                Platform.DISCORD,
                user_id=str(interaction.user.id),
                platform_note=self.bot.settings.discord.avatar_note or None,
            )
            await self.bot.fetch_avatar(req, user)
            await self.bot.handle(interaction, req)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Check(bot))
