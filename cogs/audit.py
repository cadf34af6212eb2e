"""/headshot-audit: the moderator avatar audit of a server.

Members come from the gateway (member chunking, which needs the privileged Server Members
intent); avatars from Discord's CDN only. The audit itself (cache, concurrency, duplicates,
reports, resume) is bot.audit's: this cog turns Discord members into audit members, shows
progress by editing the deferred response, wires the Cancel button and delivers the report.
Nothing here ever acts against a member."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator
from functools import cache
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.audit import Member
from bot.audit.service import AuditService
from bot.core.reply import Reply, Section
from bot.render.discord import NO_MENTIONS, OutMessage, render_replies
from bot.settings import load_toml
from bot.store import AuditRun

if TYPE_CHECKING:
    from bot.adapters.discord import HeadshotBot

log = logging.getLogger(__name__)

PLATFORM = "discord"
MEMBER_URL = "https://discord.com/users/{id}"  # a member's profile, for the audit report


# -- shared by the moderator cogs ----------------------------------------------------------------
@cache
def wording() -> dict[str, Any]:
    return load_toml("discord_audit.toml")


def notice(key: str, tone: str = "info", **fmt: object) -> Reply:
    m = wording()[key]
    lines = [line.format(**fmt) for line in m.get("lines", [])]
    return Reply(
        title=m["title"].format(**fmt),
        summary=m["summary"].format(**fmt),
        tone=tone,
        sections=[Section("How to fix it", lines)] if lines else [],
    )


def audits_of(bot: HeadshotBot) -> AuditService:
    assert bot.audits is not None  # these cogs are loaded only with an AuditService
    return bot.audits


async def is_moderator(bot: HeadshotBot, interaction: discord.Interaction) -> bool:
    """Manage Server (Discord's own answer for this member and channel), or the moderator
    role set with /headshot-settings. Checked at run time: default permissions only hide
    commands, and server admins can change who sees them."""
    if interaction.guild_id is None:
        return False
    guild_id = str(interaction.guild_id)
    return await _moderates(bot, guild_id, interaction.user, interaction.permissions)


async def still_moderator(bot: HeadshotBot, guild: discord.Guild, user_id: str) -> bool:
    """The same test without an interaction (a resumed audit): the member's own server-wide
    permissions and roles, fetched now. Someone who left the server is not a moderator."""
    try:
        member = guild.get_member(int(user_id)) or await guild.fetch_member(int(user_id))
    except discord.NotFound:
        return False
    return await _moderates(bot, str(guild.id), member, member.guild_permissions)


async def _moderates(
    bot: HeadshotBot,
    guild_id: str,
    user: discord.Member | discord.User,
    perms: discord.Permissions,
) -> bool:
    if perms.manage_guild or perms.administrator:
        return True
    prefs = await audits_of(bot).server_settings(PLATFORM, guild_id)
    if not prefs.moderator_role or not isinstance(user, discord.Member):
        return False
    return user.get_role(int(prefs.moderator_role)) is not None


def audit_member(member: discord.Member, size: int) -> Member:
    """A server avatar wins over the account avatar (that is what others see here). Default
    avatars are Discord's own pictures: nothing to check, no download."""
    asset = member.guild_avatar or member.avatar
    if asset is None:
        return Member(str(member.id), member.display_name, None)
    url = asset.replace(size=size, static_format="png").url
    return Member(str(member.id), member.display_name, url, asset.key)


def message_kwargs(out: OutMessage, buttons: list[tuple[str, str]] | None = None) -> dict:
    """Arguments for an edit: embeds, and exactly these buttons (none removes them)."""
    out.rows = [buttons] if buttons else []
    return {"embeds": out.embeds, "view": out.view(), "allowed_mentions": NO_MENTIONS}


def rendered(reply: Reply, bot: HeadshotBot) -> OutMessage:
    return render_replies([reply], None, bot.settings.discord.colours)[0]


def no_members_reply(guild: discord.Guild, options: dict[str, Any]) -> Reply:
    role = guild.get_role(int(options["role"])) if options.get("role") else None
    only_new = "yes" if options.get("only_new") else "no"
    return notice("no_members", role=role.name if role else "any", only_new=only_new)


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"hc:cancel:(?P<run>[0-9a-f]{8,64})"
):
    """The Cancel button of an audit's progress message (id made by AuditService)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(discord.ui.Button(label="Cancel", custom_id=f"hc:cancel:{run_id}"))
        self.run_id = run_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CancelButton:
        return cls(match["run"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: HeadshotBot = interaction.client  # type: ignore[assignment]

        async def build() -> list[Reply]:
            if not await is_moderator(bot, interaction):
                return [notice("no_permission", "warning")]
            if audits_of(bot).cancel(self.run_id):
                return [notice("cancelling")]
            return [notice("not_running", "warning")]

        await bot.respond(interaction, build)


class Audit(commands.Cog):
    def __init__(self, bot: HeadshotBot) -> None:
        self.bot = bot
        self.audits = audits_of(bot)
        self.running: dict[int, str] = {}  # guild id -> run id
        self.tasks: set[asyncio.Task] = set()
        self._resumed = False

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CancelButton)

    async def cog_unload(self) -> None:
        """On shutdown, stop audits where they are: their results are stored, the run stays
        unfinished and is resumed at the next start."""
        self.bot.remove_dynamic_items(CancelButton)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- the command -------------------------------------------------------------------------
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
        guild = interaction.guild
        refusal = await self._refusal(interaction, guild)
        if refusal is not None or guild is None:
            await self._answer(interaction, refusal or notice("guild_only", "warning"))
            return
        self.running[guild.id] = ""  # reserved (no await since the check) until it ends
        options = {"role": str(role.id) if role else None, "only_new": only_new}
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self._edit(interaction, notice("starting"))
        except BaseException:
            self.running.pop(guild.id, None)
            raise
        self._spawn(self._audit_from_command(interaction, guild, options))

    async def _refusal(
        self, interaction: discord.Interaction, guild: discord.Guild | None
    ) -> Reply | None:
        if guild is None:
            return notice("guild_only", "warning")
        if not await is_moderator(self.bot, interaction):
            return notice("no_permission", "warning")
        if not self.bot.intents.members:
            return notice("members_intent", "warning")
        if guild.id in self.running:
            return notice("already_running", "warning")
        return None

    async def _answer(self, interaction: discord.Interaction, reply: Reply) -> None:
        out = rendered(reply, self.bot)
        await interaction.response.send_message(ephemeral=True, **out.kwargs())

    async def _edit(
        self, interaction: discord.Interaction, reply: Reply, buttons: list | None = None
    ) -> None:
        out = rendered(reply, self.bot)
        await interaction.edit_original_response(**message_kwargs(out, buttons))

    async def _audit_from_command(
        self, interaction: discord.Interaction, guild: discord.Guild, options: dict[str, Any]
    ) -> None:
        requester = str(interaction.user.id)
        try:
            if options["only_new"]:
                options["since"] = await self.audits.store.last_finished_audit(
                    PLATFORM, str(guild.id)
                )
            members = await self._members(guild, options)
            if members is None:
                await self._edit(interaction, notice("members_timeout", "warning"))
                return
            if not members:
                await self._edit(interaction, no_members_reply(guild, options))
                return
            show = self._progress_display(interaction)
            report = await self._run(guild, requester, members, options, show)
            await self._deliver(guild, requester, report, interaction)
        except asyncio.CancelledError:
            raise
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("audit of guild %s failed (error id %s)", guild.id, error_id)
            await self.bot._apologise(interaction, error_id)
        finally:
            self.running.pop(guild.id, None)

    def _progress_display(self, interaction: discord.Interaction):
        """Progress replies → edits of the deferred response while the interaction lasts (15
        minutes); a longer audit goes on without them."""
        live = True

        async def show(reply: Reply) -> None:
            nonlocal live
            if not live:
                return
            buttons = [(a.id, a.label) for a in reply.actions]
            try:
                await self._edit(interaction, reply, buttons)
            except discord.HTTPException as exc:
                live = False
                log.info("audit progress no longer shown: %r", exc)

        return show

    # -- members -----------------------------------------------------------------------------
    async def _members(self, guild: discord.Guild, options: dict[str, Any]) -> list[Member] | None:
        """Everyone the audit covers (bots left out), or None if Discord did not send the list."""
        d = self.bot.settings.discord
        try:
            found = await asyncio.wait_for(guild.chunk(cache=False), d.audit_chunk_timeout_s)
        except TimeoutError:
            log.warning("member chunks for guild %s did not arrive in time", guild.id)
            # discord.py keeps the unanswered request and would make every later audit wait
            # on it; drop it so the next audit asks Discord again.
            self.bot._connection._chunk_requests.pop(guild.id, None)
            return None
        role = int(options["role"]) if options.get("role") else None
        since = options.get("since")
        chosen = [
            m
            for m in found
            if not m.bot
            and (role is None or m.get_role(role) is not None)
            and (since is None or (m.joined_at is not None and m.joined_at.timestamp() > since))
        ]
        return [audit_member(m, d.audit_avatar_size) for m in chosen]

    async def _fetch(self, member: Member) -> bytes:
        assert member.avatar_url is not None
        return await self.bot.download_avatar(member.avatar_url)

    async def _run(
        self,
        guild: discord.Guild,
        requester: str,
        members: list[Member],
        options: dict[str, Any],
        show,
        run: AuditRun | None = None,
    ) -> Reply:
        async def stream() -> AsyncIterator[Member]:
            for m in members:
                yield m

        if run is None:
            run = await self.audits.store.create_run(PLATFORM, str(guild.id), requester, options)
        self.running[guild.id] = run.id
        return await self.audits.start(
            PLATFORM,
            str(guild.id),
            guild.name,
            requester,
            stream(),
            self._fetch,
            show,
            total=len(members),
            options=options,
            run=run,
            member_url=MEMBER_URL,
        )

    # -- the report --------------------------------------------------------------------------
    async def _deliver(
        self,
        guild: discord.Guild,
        requester: str,
        report: Reply,
        interaction: discord.Interaction | None = None,
    ) -> None:
        """To the mod-log channel when one is set; else privately to the moderator who asked
        (an ephemeral follow-up while the interaction lasts, 15 minutes; a DM after that)."""
        prefs = await self.audits.server_settings(PLATFORM, str(guild.id))
        channel = guild.get_channel(int(prefs.modlog_channel)) if prefs.modlog_channel else None
        if isinstance(channel, discord.abc.Messageable):
            try:
                await self.bot.send_to(channel, [report])
                if interaction is not None:
                    where = f"<#{channel.id}>"
                    await self._edit(interaction, notice("report_posted", channel=where))
                return
            except discord.HTTPException as exc:
                log.warning("could not post the audit report in the mod-log: %r", exc)
        if interaction is not None:
            try:
                await self._edit(interaction, notice("report_here"))
                await self.bot.send_followups(interaction, [report], ephemeral=True)
                return
            except discord.HTTPException as exc:  # the interaction token expired
                log.info("audit report follow-up failed (%r); sending a DM", exc)
        dm = await self.bot.create_dm(discord.Object(int(requester)))
        await self.bot.send_to(dm, [report])

    # -- resume after a restart --------------------------------------------------------------
    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:  # on_ready comes again after a fresh gateway session
            return
        self._resumed = True
        for run in await self.audits.unfinished(PLATFORM):
            guild = self.bot.get_guild(int(run.server_id))
            if guild is None or not self.bot.intents.members or guild.id in self.running:
                log.warning("cannot resume audit %s of guild %s now", run.id, run.server_id)
                continue
            self.running[guild.id] = run.id
            self._spawn(self._resume(guild, run))

    async def _resume(self, guild: discord.Guild, run: AuditRun) -> None:
        try:
            if await self._requester_gone(guild, run):
                return
            members = await self._members(guild, run.options)
            if members is None:
                return

            async def show(reply: Reply) -> None:
                log.info("resumed audit %s: %s", run.id, reply.summary)

            report = await self._run(guild, run.requested_by, members, run.options, show, run)
            report.footer = wording()["resumed"]["note"]
            if await self._requester_gone(guild, run):  # asked again: the run took a while
                return
            await self._deliver(guild, run.requested_by, report)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resuming audit %s failed", run.id)
        finally:
            self.running.pop(guild.id, None)

    async def _requester_gone(self, guild: discord.Guild, run: AuditRun) -> bool:
        """A report about every member goes only to someone who may still see it: if the
        requester is no moderator any more, the run is cancelled and nothing delivered."""
        if await still_moderator(self.bot, guild, run.requested_by):
            return False
        log.info("audit %s cancelled: its requester is no longer a moderator", run.id)
        await self.audits.store.update_run(run.id, status="cancelled")
        return True


async def setup(bot: HeadshotBot) -> None:
    await bot.add_cog(Audit(bot))
