"""The Discord adapter: builds the bot, loads the cogs, and translates between Discord and
the core. Commands live in cogs/; rendering in bot/render/discord.py. No analysis or wording
logic here: events become `Request`s, `Reply`s become messages."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import mimetypes
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket

from bot import messages
from bot.adapters.lifecycle import run_until, stop_event, wait_for_tasks
from bot.audit.audit_service import AuditService
from bot.audit.flows import ModerationFlows
from bot.core.apology import apology
from bot.core.buttons import parse_button_id
from bot.core.download import DownloadError, fetch
from bot.core.reply import Reply
from bot.core.request import ImageInput, Request
from bot.core.service import HeadshotService
from bot.core.state import make_reply_cache
from bot.render.discord import NO_MENTIONS, OutMessage, render_replies
from bot.settings import DiscordSettings, Settings
from bot.store import open_store

log = logging.getLogger(__name__)

COGS = ("cogs.check", "cogs.ask", "cogs.dm", "cogs.buttons")
# Loaded when the bot is given an AuditService (persistent storage): moderator commands.
AUDIT_COGS = ("cogs.audit", "cogs.settings", "cogs.watch", "cogs.channel_watch")
DISCORD_API = "https://discord.com/api/v10"
# Replies kept for their buttons; some hold a stripped copy of a photo, so keep the count modest.
REPLY_CACHE_ENTRIES = 256
# User-installed apps may send at most 5 follow-ups to one interaction.
MAX_FOLLOWUPS = 5
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".tif")
JPEG_TYPES = ("image/jpeg", "image/jpg")

IntakeError = tuple[str, str, str]
_DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def configure_endpoints(d: DiscordSettings) -> None:
    """Point discord.py's REST client and asset URLs at the configured hosts (a REST proxy in
    production, a local fake in tests). discord.py keeps these as class attributes."""
    discord.http.Route.BASE = d.api_base.rstrip("/")
    # The bot never joins voice: no warnings about voice libraries it does not need.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    discord.asset.Asset.BASE = d.cdn_base.rstrip("/")
    gateway = d.gateway_url or str(_DISCORD_GATEWAY)
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def bot_intents(d: DiscordSettings) -> discord.Intents:
    """No message content by default (DMs, commands and mentions need none); members only when
    moderators want the audit and watch mode, message content only for channel watch in every
    message (both privileged intents that must be enabled in the Developer Portal)."""
    intents = discord.Intents.default()
    intents.members = d.members_intent
    intents.message_content = d.message_content_intent
    return intents


class HeadshotBot(commands.AutoShardedBot):
    """Receives its service, HTTP session and settings from outside (tests build their own);
    with `audits` (storage) it also offers the moderator audit, settings and watch mode.

    Sharded: one gateway session per shard, for the shards in [discord] shard_ids (all of
    them when unset), so several processes can each run a range of shards."""

    def __init__(
        self,
        *,
        service: HeadshotService,
        session: aiohttp.ClientSession,
        settings: Settings,
        audits: AuditService | None = None,
        cogs: Sequence[str] | None = None,
    ) -> None:
        d = settings.discord
        configure_endpoints(d)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(d),
            allowed_mentions=discord.AllowedMentions.none(),
            application_id=d.application_id,  # type: ignore[arg-type]  # None: from login
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            guild_ready_timeout=d.guild_ready_timeout,
            shard_count=d.shard_count,
            shard_ids=list(d.shard_ids) or None,  # type: ignore[arg-type]  # None: all
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
        )
        self.service = service
        self.audits = audits
        # The moderator flows (bot/audit/flows.py) with the audits running in this process.
        self.moderation = ModerationFlows(audits) if audits is not None else None
        self.session = session
        self.settings = settings
        self.replies = make_reply_cache(settings, max_entries=REPLY_CACHE_ENTRIES)
        # A burst of big uploads is downloaded a few at a time, so the event loop (and the
        # gateway heartbeat) never has dozens of large transfers to serve at once.
        self._download_slots = asyncio.Semaphore(max(1, d.max_concurrent_downloads))
        # Interactions and DMs worked on at once (like the Slack adapter's jobs): a burst waits
        # its turn instead of holding hundreds of requests and their photos in memory.
        self.jobs = asyncio.Semaphore(max(1, d.max_jobs))
        self.cog_modules = tuple(cogs if cogs is not None else _default_cogs(audits))
        self._report_raw_member_updates()
        # discord.py documents replacing CommandTree.on_error; its annotations call it a method.
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.synced: bool | None = None  # None: sync not attempted; False: unchanged

    # -- start-up ------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        await self._discover_gateway()
        for module in self.cog_modules:
            await self.load_extension(module)
        if self.settings.discord.sync_commands and self.runs_shard_zero:
            self.synced = await self.sync_commands()

    # -- shards --------------------------------------------------------------------------
    @property
    def runs_shard_zero(self) -> bool:
        """Whether this process runs shard 0 (every shard when no ids are set). That process
        alone syncs commands and runs app-wide jobs, so processes never race on them."""
        return not self.shard_ids or 0 in self.shard_ids

    def serves_guild(self, guild_id: int) -> bool:
        """Whether Discord sends this guild's events to one of this process's shards."""
        if not self.shard_ids or not self.shard_count:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids

    def _report_raw_member_updates(self) -> None:
        """With no member cache discord.py drops GUILD_MEMBER_UPDATE for members it has not
        cached (nearly all), so watch mode would never hear of an avatar change. Pass every
        such event on as `raw_member_update` (data as Discord sent it) before discord.py
        handles it as usual."""
        parsers = self._connection.parsers
        original = parsers["GUILD_MEMBER_UPDATE"]

        def parse(data: dict[str, Any]) -> None:
            self.dispatch("raw_member_update", data)
            original(data)

        parsers["GUILD_MEMBER_UPDATE"] = parse

    async def _discover_gateway(self) -> None:
        """With a fixed shard_count discord.py connects to Discord's gateway directly; when the
        REST API is not Discord's own (a proxy or a fake), ask it where the gateway is."""
        d = self.settings.discord
        if d.gateway_url or d.api_base.rstrip("/") == DISCORD_API:
            return
        _, url, _ = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def _command_payload(self, guild: discord.Object | None) -> list[dict[str, Any]]:
        commands_ = self.tree.get_commands(guild=guild)
        return sorted((c.to_dict(self.tree) for c in commands_), key=lambda c: c["name"])

    async def sync_commands(self) -> bool:
        """Sync the command tree only when its payload changed since the last sync (a hash
        under data_dir): global, or to the dev guild when one is set."""
        guild_id = self.settings.discord.dev_guild_id
        guild = discord.Object(guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = json.dumps(self._command_payload(guild), sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        scope = f"guild-{guild_id}" if guild_id else "global"
        marker = Path(self.settings.data_dir) / f"discord-commands-{self.application_id}-{scope}"
        if marker.exists() and marker.read_text().strip() == digest:
            log.info("application commands unchanged (%s); not syncing", scope)
            return False
        synced = await self.tree.sync(guild=guild)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest)
        log.info("synced %d application commands (%s)", len(synced), scope)
        return True

    async def on_ready(self) -> None:
        shards = sorted(self.shards)
        log.info(
            "connected as %s (%s) to %d servers on shards %s of %s",
            self.user,
            self.user.id if self.user else None,
            len(self.guilds),
            shards,
            self.shard_count,
        )

    # -- Discord → core ------------------------------------------------------------------
    async def fetch_images(
        self, req: Request, attachments: Iterable[discord.Attachment], *, images_only: bool = False
    ) -> None:
        """Download into `req` the attachments the person's rate limit admits, asking before
        anything is fetched. `images_only` skips files that are plainly not images (a
        message's other attachments)."""
        admitted = self._admit(req, self.chosen(attachments, images_only=images_only))
        req.images, req.intake_errors = await self.download_images(admitted)

    def chosen(
        self, attachments: Iterable[discord.Attachment], *, images_only: bool = False
    ) -> list[discord.Attachment]:
        chosen = [a for a in attachments if not images_only or is_image(a)]
        return chosen[: self.settings.discord.max_images]

    async def download_images(
        self, attachments: list[discord.Attachment]
    ) -> tuple[list[ImageInput], list[IntakeError]]:
        """Download at once (their signed URLs expire), with no rate limit: callers that act
        for a person ask first (`fetch_images`); the bot's own looks bound themselves."""
        results = await asyncio.gather(*(self._fetch_one(a) for a in attachments))
        images = [r for r in results if isinstance(r, ImageInput)]
        errors = [r for r in results if isinstance(r, tuple)]
        return images, errors

    def _admit(
        self, req: Request, attachments: list[discord.Attachment]
    ) -> list[discord.Attachment]:
        """The attachments within the limit; the others are named in `req.left_out`."""
        req.admission = self.service.admit(req.platform, req.user_id, len(attachments))
        granted = req.admission.granted
        req.left_out = [a.filename for a in attachments[granted:]]
        return attachments[:granted]

    async def _fetch_one(self, attachment: discord.Attachment) -> ImageInput | IntakeError:
        limit = self.settings.limits.max_bytes
        if attachment.size > limit:
            too_large = messages.text("refusals.too_large", mb=f"{limit / 1e6:g}")
            return (attachment.filename, "too_large", too_large)
        try:
            # .url, not .proxy_url: the media proxy recompresses images.
            data = await self.download(attachment.url)
        except DownloadError as exc:
            log.info("download of %s failed: %s", attachment.filename, exc.code)
            return (attachment.filename, exc.code, exc.message)
        return ImageInput(attachment.filename, data)

    async def fetch_avatar(self, req: Request, user: discord.abc.User) -> None:
        """A person's avatar into `req`, once the requester's rate limit admits it."""
        asset = user.display_avatar.replace(size=1024, static_format="png")
        name = f"avatar-{user.name}.{'gif' if asset.is_animated() else 'png'}"
        req.admission = self.service.admit(req.platform, req.user_id, 1)
        if not req.admission.granted:
            req.left_out = [name]
            return
        try:
            req.images = [ImageInput(name, await self.download(asset.url))]
        except DownloadError as exc:
            req.intake_errors = [(name, exc.code, exc.message)]

    async def download_avatar(self, url: str) -> bytes:
        """Avatars for audits and watch mode: small files from the CDN, many at once; the
        audit runner bounds how many, so user uploads do not wait behind them."""
        return await self._fetch(url)

    async def download(self, url: str) -> bytes:
        async with self._download_slots:
            return await self._fetch(url)

    async def _fetch(self, url: str) -> bytes:
        return await fetch(
            self.session,
            url,
            allowed_hosts=self.settings.discord.attachment_hosts,
            max_bytes=self.settings.limits.max_bytes,
            timeout_s=self.settings.download.timeout_s,
            chunk_bytes=self.settings.download.chunk_bytes,
        )

    def platform_note(self, attachments: Iterable[discord.Attachment]) -> str | None:
        """Discord strips EXIF from JPEG uploads: say so when a JPEG is among them."""
        if any(is_jpeg(a) for a in attachments):
            return self.settings.discord.platform_note or None
        return None

    @staticmethod
    def note_files(attachments: Iterable[discord.Attachment]) -> frozenset[str]:
        """The attachments `platform_note` is about: the JPEGs."""
        return frozenset(a.filename for a in attachments if is_jpeg(a))

    # -- core → Discord: the one-way API the cogs use ------------------------------------
    @asynccontextmanager
    async def deferred(
        self, interaction: discord.Interaction, *, ephemeral: bool = True
    ) -> AsyncIterator[None]:
        """Defer at once (3 s to answer), then take a job slot for the work inside; a failure
        inside becomes an apology with an error id."""
        try:
            if not interaction.response.is_done():
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            async with self.jobs:  # after deferring: Discord wants an answer within 3 s
                yield
        except Exception:
            sorry = apology(
                log,
                "interaction failed (command %s, user %s, guild %s)",
                _command_name(interaction),
                interaction.user.id if interaction.user else None,
                interaction.guild_id,
            )
            await self.apologise(interaction, sorry)

    async def handle(
        self, interaction: discord.Interaction, request: Request, *, ephemeral: bool = True
    ) -> None:
        """Ask the core, and send its replies as follow-ups (inside `deferred`)."""
        await self.send_followups(
            interaction, await self.service.handle(request), ephemeral=ephemeral
        )

    async def answer(
        self, interaction: discord.Interaction, replies: list[Reply], *, ephemeral: bool = True
    ) -> None:
        """Replies made without the core's service (buttons, moderator commands)."""
        await self.send_followups(interaction, replies, ephemeral=ephemeral)

    async def answer_at_once(self, interaction: discord.Interaction, reply: Reply) -> None:
        """An ephemeral answer instead of deferring (a refusal known within the 3 s)."""
        (out,) = self.render([reply])
        await interaction.response.send_message(ephemeral=True, **out.kwargs())

    async def edit_response(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Replace the deferred response with `reply`, its buttons exactly these (none removes
        them): how an audit shows progress."""
        (out, *_more) = self.render([reply])
        await interaction.edit_original_response(
            embeds=out.embeds, view=out.view(), allowed_mentions=NO_MENTIONS
        )

    def render(self, replies: list[Reply]) -> list[OutMessage]:
        """Replies → messages. Buttons whose ids are complete (an audit's Cancel, a note's
        Details) keep them; others are answered from the reply cache."""
        colours = self.settings.discord.colours
        out: list[OutMessage] = []
        for reply in replies:
            if reply.actions and all(parse_button_id(a.id) for a in reply.actions):
                own = render_replies([reply], None, colours)
                own[0].rows = [[(a.id, a.label) for a in reply.actions]]
                out += own
            else:
                out += render_replies([reply], self.replies, colours)
        return out

    async def send_followups(
        self, interaction: discord.Interaction, replies: list[Reply], *, ephemeral: bool
    ) -> None:
        # Private replies (privacy notes on a public result) go to the requester alone, after
        # the public ones: the first follow-up takes the deferred response's visibility.
        shared = [r for r in replies if not (r.private and not ephemeral)]
        private = [r for r in replies if r.private and not ephemeral]
        batches = [(self.render(shared), ephemeral), (self.render(private), True)]
        sent = 0
        for outs, hidden in batches:
            for out in outs:
                if sent >= MAX_FOLLOWUPS:
                    log.warning("dropping messages past the follow-up limit")
                    return
                await interaction.followup.send(ephemeral=hidden, **out.kwargs())
                sent += 1

    async def send_to(self, channel: discord.abc.Messageable, replies: list[Reply]) -> None:
        for out in self.render(replies):
            await channel.send(**out.kwargs())

    async def send_dm(self, user_id: int, replies: list[Reply]) -> None:
        await self.send_to(await self.create_dm(discord.Object(user_id)), replies)

    async def apologise(self, interaction: discord.Interaction, sorry: Reply) -> None:
        (out,) = render_replies([sorry])
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ephemeral=True, **out.kwargs())
            else:
                await interaction.response.send_message(ephemeral=True, **out.kwargs())
        except discord.HTTPException:
            log.warning("could not send the apology: %s", sorry.summary)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors that escape a command (argument conversion, checks) get the apology too."""
        sorry = apology(log, "app command %s failed", _command_name(interaction), exc_info=error)
        await self.apologise(interaction, sorry)

    # -- members, for the moderator cogs ---------------------------------------------------
    def forget_member_request(self, guild_id: int) -> None:
        """discord.py keeps a member-list request Discord never answered, and would make every
        later one wait on it: drop it, so the next audit asks Discord again."""
        self._connection._chunk_requests.pop(guild_id, None)

    def member_of(self, data: dict[str, Any], guild: discord.Guild) -> discord.Member:
        """A member from a raw GUILD_MEMBER_UPDATE (see _report_raw_member_updates)."""
        # The raw gateway payload is a plain dict; discord.py annotates it as its TypedDict.
        return discord.Member(data=data, guild=guild, state=self._connection)  # type: ignore[arg-type]


def _command_name(interaction: discord.Interaction) -> str | None:
    data: dict[str, Any] = dict(interaction.data or {})
    name = data.get("name") or data.get("custom_id")
    return str(name) if name else None


def is_image(attachment: discord.Attachment) -> bool:
    ctype = (attachment.content_type or "").split(";")[0].strip().lower()
    if ctype:
        return ctype.startswith("image/")
    return attachment.filename.lower().endswith(IMAGE_SUFFIXES)


def is_jpeg(attachment: discord.Attachment) -> bool:
    ctype = (attachment.content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(attachment.filename)[0] or ""
    return ctype in JPEG_TYPES or (not ctype and guessed in JPEG_TYPES)


# -- entry points used by bot/cli.py ---------------------------------------------------------
def invite_url(settings: Settings) -> str:
    """Install links: add to a server (bot + commands, minimal permissions) and add to your
    own account (user install: commands only, no bot user in servers). Raises ValueError,
    saying what to set, when there is no application id to build them from."""
    app_id = settings.discord.application_id or _application_id_from_token(settings)
    if app_id is None:
        raise ValueError(messages.text("startup.discord.no_application_id"))
    base = yarl.URL("https://discord.com/oauth2/authorize")
    guild = base.with_query(
        client_id=str(app_id),
        scope="bot applications.commands",
        permissions=str(settings.discord.invite_permissions),
        integration_type="0",
    )
    user = base.with_query(
        client_id=str(app_id), scope="applications.commands", integration_type="1"
    )
    return messages.text("startup.discord.invite", guild=guild, user=user)


def _application_id_from_token(settings: Settings) -> int | None:
    """A bot token starts with the base64 of the bot's user id, which is the application id."""
    import base64

    if settings.discord_token is None:
        return None
    head = settings.discord_token.get_secret_value().split(".", 1)[0]
    try:
        return int(base64.b64decode(head + "=" * (-len(head) % 4)).decode())
    except ValueError:
        return None


def run_discord(settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print(messages.text("startup.discord.no_token"), file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(settings))
    except discord.LoginFailure:
        print(messages.text("startup.discord.token_rejected"), file=sys.stderr)
        return 2
    except (aiohttp.ClientError, OSError) as exc:
        api = settings.discord.api_base
        print(messages.text("startup.discord.unreachable", api=api, error=exc), file=sys.stderr)
        return 1
    except discord.PrivilegedIntentsRequired:
        print(MEMBERS_INTENT_REFUSED, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


MEMBERS_INTENT_REFUSED = messages.text("startup.discord.intent_refused")


async def _run(settings: Settings) -> None:
    stop = stop_event()  # first: a SIGTERM during start-up still shuts the workers down
    service = HeadshotService(settings)
    store = None
    try:
        if await run_until(stop, service.start()) is not None:
            return  # stopped while the workers started: `finally` kills them
        store = await open_store(settings)
        audits = AuditService(store, service.pool, settings)
        async with aiohttp.ClientSession() as session:
            bot = HeadshotBot(service=service, session=session, settings=settings, audits=audits)
            async with bot:
                token = settings.discord_token.get_secret_value().strip()  # type: ignore[union-attr]  # run_discord checked it
                connection = await run_until(stop, bot.start(token))
                if connection is not None:
                    await _stop(bot, service, settings)
                    await asyncio.wait_for(connection, 5)
    finally:
        if store is not None:
            await store.close()
        service.close()


# discord.py runs each event handler, command and button press as a task named so.
HANDLER_TASKS = ("discord.py: ", "CommandTree-invoker", "discord-ui-view-dispatch")


async def _stop(bot: HeadshotBot, service: HeadshotService, settings: Settings) -> None:
    """SIGTERM/SIGINT: audits pause where they are (resumed at the next start); photos being
    checked get shutdown_grace_s to finish, then are answered "the bot is restarting"; the
    answers get shutdown_reply_s to go out; then the gateway and the HTTP client close."""
    limits = settings.limits
    log.info("stopping: finishing the photos being checked, then disconnecting")
    for module in AUDIT_COGS:
        if module in bot.extensions:
            await bot.unload_extension(module)
    await service.pool.shutdown(limits.shutdown_grace_s)
    await wait_for_tasks(HANDLER_TASKS, limits.shutdown_reply_s)
    await bot.close()


def _default_cogs(audits: AuditService | None) -> tuple[str, ...]:
    return COGS + AUDIT_COGS if audits is not None else COGS
