"""Channel watch (opt-in per channel, set with /headshot-settings watch-channel): images posted
in a watched channel are checked, and those with a signal worth a look (AI or privacy) get a
🔎 reaction. When the poster presses it, the result goes to them alone, by DM. The reaction is
the only public sign and says nothing about what was found.

Discord sends a guild message's attachments only with the privileged Message Content intent,
or when the message mentions the bot ([discord] message_content_intent; see docs/discord.md).
Marked messages are remembered in memory for `MEMORY_S`: after a restart the poster uses the
"Check headshot" menu instead."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.adapters.discord import is_image
from bot.core.channel_watch import MAGNIFIER, poster_note, worth_a_look
from bot.core.request import Kind, Platform, Request
from cogs.audit import flows_of

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)

MEMORY_S = 24 * 3600  # attachment links Discord signs stay valid about this long
MEMORY_ENTRIES = 5000


@dataclass
class Marked:
    """A message that got the 🔎: whose it is and where its images are."""

    poster: int
    attachments: list[discord.Attachment]
    jump_url: str
    channel_id: int
    at: float
    answered: bool = False


class ChannelWatch(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.audits = flows_of(bot).audits
        self.marked: OrderedDict[int, Marked] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        # A busy channel is looked at a few images at a time, behind people's own checks.
        self._slots = asyncio.Semaphore(2)

    async def cog_unload(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- a posted image ----------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author.bot or not message.attachments:
            return
        images = [a for a in message.attachments if is_image(a)]
        if images and await self.audits.watches_channel(
            Platform.DISCORD, str(message.guild.id), str(message.channel.id)
        ):
            self._spawn(self.look(message, images))

    async def look(self, message: discord.Message, attachments: list[discord.Attachment]) -> None:
        try:
            async with self._slots:
                # The bot's own look, not the poster's request: bounded by _slots, not the
                # poster's rate limit.
                chosen = self.bot.chosen(attachments, images_only=True)
                images, _errors = await self.bot.download_images(chosen)
                reports = [await self.bot.service.check(image) for image in images]
            if not any(worth_a_look(r) for r in reports):
                return
            await message.add_reaction(MAGNIFIER)
            self.remember(
                message.id,
                Marked(message.author.id, attachments, message.jump_url, message.channel.id, 0),
            )
        except discord.HTTPException as exc:  # no Add Reactions permission, or gone
            log.info("channel watch could not mark message %s: %r", message.id, exc)
        except Exception:
            log.exception("channel watch failed on message %s", message.id)

    def remember(self, message_id: int, marked: Marked) -> None:
        marked.at = time.monotonic()
        self.marked[message_id] = marked
        cutoff = time.monotonic() - MEMORY_S
        while self.marked and (
            len(self.marked) > MEMORY_ENTRIES or next(iter(self.marked.values())).at < cutoff
        ):
            self.marked.popitem(last=False)

    # -- the poster presses 🔎 ---------------------------------------------------------------
    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or str(payload.emoji) != MAGNIFIER:
            return
        marked = self.marked.get(payload.message_id)
        # Only the poster hears about their image; anyone else's press does nothing.
        if marked is None or payload.user_id != marked.poster or marked.answered:
            return
        marked.answered = True
        self._spawn(self.answer(marked))

    async def answer(self, marked: Marked) -> None:
        try:
            request = Request(
                Kind.CHECK,
                Platform.DISCORD,
                user_id=str(marked.poster),
                platform_note=self.bot.platform_note(marked.attachments),
                note_files=self.bot.note_files(marked.attachments),
            )
            await self.bot.fetch_images(request, marked.attachments, images_only=True)
            replies = await self.bot.service.handle(request)
            note = poster_note(f"in <#{marked.channel_id}> ({marked.jump_url})", marked=True)
            await self.bot.send_dm(marked.poster, [note, *replies])
        except discord.HTTPException as exc:  # DMs closed: nothing is said in public instead
            log.info("channel watch could not DM user %s: %r", marked.poster, exc)
            marked.answered = False
        except Exception:
            log.exception("channel watch answer to user %s failed", marked.poster)


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(ChannelWatch(bot))
