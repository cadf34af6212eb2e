"""The moderator flows, once for every platform: who may moderate, starting, continuing,
resuming and cancelling an audit and delivering its report, settings, forget and watch mode.

They speak to a platform only through `ModerationPort` and `AuditView` (bot/audit/port.py);
cogs and Slack listeners parse an interaction, call these, and render what comes back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot import messages
from bot.audit.audit_service import AuditService, ServerSettings
from bot.audit.port import (
    AuditOptions,
    AuditView,
    DeliveryFailed,
    MembersUnavailable,
    MissingPermission,
    ModerationPort,
)
from bot.audit.runner import Member
from bot.core.apology import apology
from bot.core.buttons import note_button
from bot.core.reply import Action, Reply, Section
from bot.core.request import Platform
from bot.store import AuditRun

log = logging.getLogger(__name__)

ServerKey = tuple[Platform, str]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[Any]"]


def worded(key: str, platform: Platform) -> dict[str, Any]:
    """The catalogue table `moderation.KEY`, with the platform's own words where it has them."""
    table = dict(messages.table(f"moderation.{key}"))
    with contextlib.suppress(KeyError):  # no words of its own
        table.update(messages.table(f"moderation.{platform.value}.{key}"))
    return table


def notice(key: str, platform: Platform, tone: str = "info", **fmt: object) -> Reply:
    m = worded(key, platform)
    fix = [str(line).format(**fmt) for line in m.get("lines", [])]
    return Reply(
        title=str(m["title"]).format(**fmt),
        summary=str(m["summary"]).format(**fmt),
        tone=tone,
        sections=[Section(messages.text("moderation.how_to_fix"), fix)] if fix else [],
    )


@dataclass
class SettingsChange:
    """What a /headshot-settings asks: ServerSettings fields, one channel's watch, or a
    `problem` (in words) with the request; empty means "show them"."""

    fields: dict[str, Any] = field(default_factory=dict)
    watch_channel: tuple[str, bool] | None = None
    problem: str | None = None

    def changes_anything(self) -> bool:
        return bool(self.fields) or self.watch_channel is not None


class ModerationFlows:
    """One per adapter: the audits running in this process, and the flows around them."""

    def __init__(self, audits: AuditService, spawn: Spawn | None = None) -> None:
        self.audits = audits
        self.running: dict[ServerKey, str] = {}  # server -> its run id ("" while starting)
        # How audits run in the background: the adapter's own jobs where it has them.
        self._spawn_task: Spawn = spawn or (
            lambda coro: asyncio.get_running_loop().create_task(coro)
        )
        self._tasks: dict[ServerKey, asyncio.Task[Any]] = {}
        # A wave of joins is checked a few at a time (each is a download and an analysis).
        self._watch_slots = asyncio.Semaphore(max(1, audits.settings.audit.concurrency // 4))

    # -- who may ---------------------------------------------------------------------------
    async def refusal(
        self, port: ModerationPort, user: str, *, admin: bool = False
    ) -> Reply | None:
        """None when `user` may moderate (with `admin`: choose who moderates), else why not."""
        try:
            if await (port.is_admin(user) if admin else port.is_moderator(user)):
                return None
        except MissingPermission as exc:
            return Reply(
                title=worded("missing_scope", port.platform)["title"],
                summary=exc.message,
                tone="warning",
            )
        return notice("admins_only" if admin else "refused", port.platform, "warning")

    async def _requester_gone(self, port: ModerationPort, run: AuditRun) -> bool:
        """A report about every member goes only to someone who may still see it: when the
        requester moderates no more, the run is cancelled and nothing delivered."""
        try:
            still = await port.is_moderator(run.requested_by)
        except MissingPermission:
            still = False
        if still:
            return False
        log.info("audit %s cancelled: its requester is no longer a moderator", run.id)
        await self.audits.store.update_run(run.id, status="cancelled")
        return True

    # -- an audit --------------------------------------------------------------------------
    async def open_audit(self, port: ModerationPort, requester: str) -> Reply | None:
        """A refusal, or None with the server reserved (until the audit ends, or `release`)."""
        refusal = await self.refusal(port, requester) or port.members_problem()
        if refusal is not None:
            return refusal
        key = (port.platform, port.server_id)
        if key in self.running:
            return notice("already_running", port.platform, "warning")
        self.running[key] = ""  # no await since the check
        return None

    def release(self, port: ModerationPort) -> None:
        self.running.pop((port.platform, port.server_id), None)

    async def started(self, port: ModerationPort, view: AuditView) -> Reply:
        """What the requester hears first: where the report will be."""
        return notice("started", port.platform, where=await self._where(port, view))

    def start_audit(
        self, port: ModerationPort, requester: str, options: AuditOptions, view: AuditView
    ) -> None:
        """Run the audit `open_audit` reserved, in the background."""
        self._spawn(port, self._audit(port, requester, options, view))

    async def resume(self, port: ModerationPort, run: AuditRun) -> bool:
        """Continue a run a restart interrupted, if its requester still moderates."""
        if await self._requester_gone(port, run):
            return False
        key = (port.platform, port.server_id)
        if key in self.running:
            log.warning("cannot resume audit %s of %s now", run.id, port.server_id)
            return False
        self.running[key] = run.id
        options = AuditOptions.from_stored(run.options)
        view = port.resume_view(run.requested_by)
        self._spawn(port, self._audit(port, run.requested_by, options, view, run))
        return True

    async def cancel(self, port: ModerationPort, user: str, run_id: str) -> Reply:
        refusal = await self.refusal(port, user)
        if refusal is not None:
            return refusal
        if self.audits.cancel(run_id):
            return notice("cancelling", port.platform)
        return notice("not_running", port.platform, "warning")

    async def stop(self, platform: Platform | None = None, server_id: str | None = None) -> None:
        """Audits stop where they are (all, or one server's): their results are stored, the
        runs stay unfinished and are resumed at the next start."""
        tasks = [
            task
            for (p, server), task in self._tasks.items()
            if server_id is None or (p, server) == (platform, server_id)
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, port: ModerationPort, coro: Coroutine[Any, Any, None]) -> None:
        key = (port.platform, port.server_id)
        task = self._spawn_task(coro)
        self._tasks[key] = task

        def forget(done: asyncio.Task[Any]) -> None:
            if self._tasks.get(key) is done:
                del self._tasks[key]

        task.add_done_callback(forget)

    async def _audit(
        self,
        port: ModerationPort,
        requester: str,
        options: AuditOptions,
        view: AuditView,
        run: AuditRun | None = None,
    ) -> None:
        key = (port.platform, port.server_id)
        try:
            run = run or await self._stopped_run(port, options)
            resumed = run is not None
            if run is not None:
                options = AuditOptions.from_stored(run.options)
            elif options.only_new:
                store = self.audits.store
                options.since = await store.last_finished_audit(port.platform, port.server_id)
            await view.show(notice("resuming" if run else "listing", port.platform))
            members = await self._members(port, options, view)
            if members is None:
                return
            if not members and run is None:
                await view.show(self._no_members(port, options))
                return
            run = run or await self.audits.store.create_run(
                port.platform, port.server_id, requester, options.stored()
            )
            self.running[key] = run.id
            report = await self._run(port, requester, members, view, run)
            if resumed:
                report.footer = messages.text("moderation.resumed_note.text")
            if not await self._requester_gone(port, run):  # asked again: runs take a while
                await self._deliver(port, requester, report, view)
        except asyncio.CancelledError:
            raise
        except Exception:
            sorry = apology(log, "audit of %s %s failed", port.platform, port.server_id)
            await self._tell_anyhow(port, requester, view, [sorry])
        finally:
            self.running.pop(key, None)

    async def _stopped_run(self, port: ModerationPort, options: AuditOptions) -> AuditRun | None:
        """An audit of this server that stopped before the end (an error, a restart another
        process did not resume) is continued when it asked the same; the others are dropped."""
        runs = await self.audits.unfinished(port.platform)
        stopped = [r for r in runs if r.server_id == port.server_id]
        same = [r for r in stopped if AuditOptions.from_stored(r.options).asks_same(options)]
        kept = same[-1] if same else None  # the newest
        for run in stopped:
            if run is not kept:
                await self.audits.store.update_run(run.id, status="cancelled")
        return kept

    async def _members(
        self, port: ModerationPort, options: AuditOptions, view: AuditView
    ) -> list[Member] | None:
        words = worded("listing", port.platform)

        async def listed(count: int) -> None:
            await view.show(
                Reply(title=words["title"], summary=words["counted"].format(count=f"{count:,}"))
            )

        try:
            members = await port.members(options, listed)
        except MembersUnavailable as exc:
            title = messages.text("moderation.members_unavailable.title")
            await view.show(Reply(title=title, summary=exc.message, tone="warning"))
            return None
        return await self._only_new(port, members, options)

    async def _only_new(
        self, port: ModerationPort, members: list[Member], options: AuditOptions
    ) -> list[Member]:
        """Members who joined since the last finished audit; where the platform does not say
        when someone joined, those no finished audit has seen."""
        if not options.only_new or options.since is None:
            return members
        since = options.since
        seen: set[str] | None = None
        if any(m.joined_at is None for m in members):
            seen = await self.audits.members_seen(port.platform, port.server_id)
        return [
            m
            for m in members
            if (m.joined_at > since if m.joined_at is not None else m.id not in (seen or set()))
        ]

    def _no_members(self, port: ModerationPort, options: AuditOptions) -> Reply:
        w = worded("no_members", port.platform)
        role = port.role_label(options.role) if options.role else w["any_role"]
        return notice(
            "no_members", port.platform, role=role, only_new=w["yes" if options.only_new else "no"]
        )

    async def _run(
        self,
        port: ModerationPort,
        requester: str,
        members: list[Member],
        view: AuditView,
        run: AuditRun,
    ) -> Reply:
        async def stream() -> AsyncIterator[Member]:
            for member in members:
                yield member

        info = await port.server()
        return await self.audits.start(
            port.platform,
            port.server_id,
            info.name,
            requester,
            stream(),
            port.fetch_avatar,
            view.show,
            total=len(members),
            run=run,
            member_url=info.member_url,
        )

    # -- the report ------------------------------------------------------------------------
    async def _where(
        self, port: ModerationPort, view: AuditView, prefs: ServerSettings | None = None
    ) -> str:
        prefs = prefs or await self.audits.server_settings(port.platform, port.server_id)
        if prefs.modlog_channel:
            channel = port.channel_label(prefs.modlog_channel)
            return messages.text("moderation.where.modlog", channel=channel)
        return messages.text(f"moderation.where.{view.place}")

    async def _deliver(
        self, port: ModerationPort, requester: str, report: Reply, view: AuditView
    ) -> None:
        """To the mod-log channel when one is set; else (or when the app may not post there)
        privately to the moderator who asked: where the view is, else by DM."""
        prefs = await self.audits.server_settings(port.platform, port.server_id)
        private = [report]
        if prefs.modlog_channel:
            try:
                await port.post(prefs.modlog_channel, [report])
                where = await self._where(port, view, prefs)
                await view.show(self._finished(port, report, where))
                return
            except DeliveryFailed as exc:
                log.warning("could not post the audit report in the mod-log: %s", exc.error)
                private.insert(
                    0, notice("modlog_failed", port.platform, "warning", error=exc.error)
                )
        where = messages.text(f"moderation.where.{view.place}")
        await view.show(self._finished(port, report, where))
        await self._tell_anyhow(port, requester, view, private)

    def _finished(self, port: ModerationPort, report: Reply, where: str) -> Reply:
        return notice("finished", port.platform, summary=report.summary, where=where)

    async def _tell_anyhow(
        self, port: ModerationPort, requester: str, view: AuditView, replies: list[Reply]
    ) -> None:
        if not await view.tell(replies):
            await port.direct_message(requester, replies)

    # -- settings and forget ---------------------------------------------------------------
    async def settings(self, port: ModerationPort, user: str, change: SettingsChange) -> Reply:
        refusal = await self.refusal(port, user)
        if refusal is None and "moderator_role" in change.fields:
            # The moderator role cannot hand out its own powers.
            refusal = await self.refusal(port, user, admin=True)
        if refusal is not None:
            return refusal
        p, server = port.platform, port.server_id
        if change.watch_channel is not None:
            await self.audits.set_channel_watch(p, server, *change.watch_channel)
        if change.fields:
            await self.audits.update_settings(p, server, **change.fields)
        prefs = await self.audits.server_settings(p, server)
        saved = worded("settings", p)["saved"] if change.changes_anything() else ""
        return await self.settings_reply(port, prefs, change.problem or saved, bool(change.problem))

    async def settings_reply(
        self, port: ModerationPort, prefs: ServerSettings, note: str = "", problem: bool = False
    ) -> Reply:
        w = worded("settings", port.platform)
        role = port.role_label(prefs.moderator_role) if prefs.moderator_role else w["role_unset"]
        modlog = port.channel_label(prefs.modlog_channel) if prefs.modlog_channel else None
        channels = ", ".join(port.channel_label(c) for c in prefs.watch_channels)
        current = [
            w["modlog"].format(value=modlog or w["modlog_unset"]),
            w["watch"].format(value=w["on" if prefs.watch else "off"]),
            w["strength"].format(value=prefs.min_strength),
            w["retention"].format(value=f"{prefs.retention_days:g}"),
            w["role"].format(value=role),
            w["channel_watch"].format(value=channels or w["channel_watch_unset"]),
        ]
        problems, hints = port.settings_notes(prefs)
        if prefs.watch and not prefs.modlog_channel:
            problems.insert(0, w["watch_needs_channel"])
        days = min(prefs.retention_days, self.audits.settings.audit.retention_days)
        notes = [*problems, *hints, w["retention_note"].format(days=f"{days:g}")]
        sections = [Section(w["current"], current), Section(w["notes"], notes)]
        if w.get("usage"):
            sections.append(Section(w["usage_title"], list(w["usage"])))
        info = await port.server()
        return Reply(
            title=w["title"].format(server=info.name),
            summary=note or w["summary"],
            tone="warning" if problem or problems else "info",
            sections=sections,
        )

    async def forget_self(self, platform: Platform, user: str) -> Reply:
        """Anyone, about themself: in every server."""
        await self.audits.forget(platform, user)
        w = worded("forget", platform)
        return Reply(title=w["title"], summary=w["self_done"])

    async def forget_member(
        self, port: ModerationPort, user: str, member_id: str, member_name: str
    ) -> Reply:
        """A moderator, about a member of their server (about themself: as anyone)."""
        if member_id == user:
            return await self.forget_self(port.platform, user)
        refusal = await self.refusal(port, user)
        if refusal is not None:
            return refusal
        await self.audits.forget(port.platform, member_id, port.server_id)
        w = worded("forget", port.platform)
        return Reply(title=w["title"], summary=w["member_done"].format(member=member_name))

    # -- watch mode ------------------------------------------------------------------------
    async def watch(self, port: ModerationPort, member: Member, *, joined: bool) -> None:
        """A member joined or changed their profile: a note in the mod-log when the avatar
        shows signals or is shared. Never any action against the member."""
        p, server = port.platform, port.server_id
        prefs = await self.audits.server_settings(p, server)
        if not prefs.watch or not prefs.modlog_channel or not member.avatar_url:
            return
        if not joined and await self.audits.avatar_unchanged(p, server, member):
            return  # a name, role or status change, not a new picture
        async with self._watch_slots:
            note = await self.audits.watch(p, server, member, port.fetch_avatar)
        if note is None:
            return
        note.actions.append(
            Action(note_button(member.id), messages.text("moderation.note.details"))
        )
        try:
            await port.post(prefs.modlog_channel, [note])
        except DeliveryFailed as exc:
            log.info("could not post a watch note in the mod-log: %s", exc.error)

    async def note_details(self, port: ModerationPort, user: str, member_id: str) -> Reply:
        refusal = await self.refusal(port, user)
        if refusal is not None:
            return refusal
        details = await self.audits.watch_details(port.platform, port.server_id, member_id)
        return details or notice("details_gone", port.platform, "warning")
