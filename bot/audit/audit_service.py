"""Audits and watch mode as the adapters see them: start, progress, cancel, resume, watch,
settings, forget and retention. Adapters supply members, a fetch function and a way to
show a Reply; everything else is decided here, the same for Discord and Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot import messages
from bot.analysis.pipeline.verdict import Label
from bot.audit.duplicates import duplicate_groups
from bot.audit.reports import label_words, score_points, summary_lines, to_csv, to_html
from bot.audit.runner import (
    AuditReport,
    AuditRunner,
    Fetch,
    Member,
    Progress,
    audit_wording,
    is_flagged,
    strength_rank,
)
from bot.core.buttons import cancel_button
from bot.core.pool import AnalysisPool
from bot.core.reply import Action, Attachment, Reply, Section
from bot.settings import Settings
from bot.store import AuditRow, AuditRun, Store

log = logging.getLogger(__name__)

ShowReply = Callable[[Reply], Awaitable[None]]


@dataclass
class ServerSettings:
    """Per-server settings moderators change with /headshot-settings."""

    modlog_channel: str | None = None
    watch: bool = False
    min_strength: str = "moderate"
    retention_days: float = 30.0
    moderator_role: str | None = None
    # Channel watch (opt-in, per channel): channel ids where posted images are looked at.
    watch_channels: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any], defaults: Settings) -> ServerSettings:
        base = cls(
            min_strength=defaults.audit.flag_min_strength,
            retention_days=defaults.audit.retention_days,
        )
        known = {k: v for k, v in data.items() if k in base.__dataclass_fields__}
        return cls(**{**asdict(base), **known})


def progress_reply(run_id: str, p: Progress, final: bool = False) -> Reply:
    w = messages.table("moderation.progress")
    total = w["of_total"].format(total=f"{p.total:,}") if p.total else ""
    eta = p.eta_s
    left = w["left"].format(duration=_duration(eta)) if eta and not final else ""
    summary = w["summary"].format(done=f"{p.done:,}", total=total, flagged=p.flagged, left=left)
    reply = Reply(title=w["title_final" if final else "title"], summary=summary, tone="info")
    if not final:
        reply.actions.append(Action(cancel_button(run_id), w["cancel"]))
    return reply


def _duration(seconds: float) -> str:
    w = messages.table("moderation.progress")
    if seconds < 90:
        return str(w["seconds"]).format(n=max(1, round(seconds)))
    return str(w["minutes"]).format(n=round(seconds / 60))


def report_reply(
    report: AuditReport, server_name: str, min_strength: str, member_url: str | None = None
) -> Reply:
    """The summary, with the CSV and the HTML report attached (`member_url`: see to_html)."""
    w = messages.table("moderation.report")
    title = w["title"].format(server=server_name)
    words = audit_wording()["summary"]
    flagged = report.flagged(min_strength)
    reply = Reply(
        title=title + (w["cancelled"] if report.cancelled else ""),
        summary=summary_lines(report, min_strength)[0],
        tone="info",
        sections=[Section(w["summary_title"], summary_lines(report, min_strength)[1:])],
        attachments=[
            Attachment("headshot-audit.csv", to_csv(report), w["csv"]),
            Attachment(
                "headshot-audit.html", to_html(report, title, min_strength, member_url), w["html"]
            ),
        ],
    )
    if flagged:
        reply.sections.append(Section(words["flagged_title"], flagged_lines(flagged[:10])))
    return reply


def flagged_lines(rows: list[AuditRow]) -> list[str]:
    """The avatars to review first, strongest first, each with its pixel score when known."""
    words = audit_wording()["summary"]
    ordered = sorted(rows, key=lambda r: (-strength_rank(r.strength), -(r.score or -1.0)))
    return [
        words["flagged_line"].format(
            name=r.member_name, evidence=r.evidence or label_words().get(r.label, r.label)
        )
        + ("" if r.score is None else words["flagged_score"].format(score=score_points(r.score)))
        for r in ordered
    ]


class AuditService:
    def __init__(self, store: Store, pool: AnalysisPool, settings: Settings) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self._cancels: dict[str, asyncio.Event] = {}

    def runner(self, fetch: Fetch, min_strength: str) -> AuditRunner:
        a = self.settings.audit
        return AuditRunner(
            self.store,
            self.pool,
            fetch,
            concurrency=a.concurrency,
            progress_interval_s=a.progress_interval_s,
            min_strength=min_strength,
            dup_max_distance=a.dup_max_distance,
        )

    async def server_settings(self, platform: str, server_id: str) -> ServerSettings:
        data = await self.store.get_settings(platform, server_id)
        return ServerSettings.from_dict(data, self.settings)

    async def update_settings(
        self, platform: str, server_id: str, **changes: Any
    ) -> ServerSettings:
        current = await self.server_settings(platform, server_id)
        updated = ServerSettings(**{**asdict(current), **changes})
        await self.store.set_settings(platform, server_id, asdict(updated))
        return updated

    async def set_channel_watch(
        self, platform: str, server_id: str, channel: str, on: bool
    ) -> ServerSettings:
        """Turn channel watch on or off for one channel (the others stay as they are)."""
        current = await self.server_settings(platform, server_id)
        channels = [c for c in current.watch_channels if c != channel] + ([channel] if on else [])
        return await self.update_settings(platform, server_id, watch_channels=channels)

    async def watches_channel(self, platform: str, server_id: str, channel: str) -> bool:
        return channel in (await self.server_settings(platform, server_id)).watch_channels

    async def start(
        self,
        platform: str,
        server_id: str,
        server_name: str,
        requested_by: str,
        members: AsyncIterator[Member],
        fetch: Fetch,
        show: ShowReply,
        *,
        total: int | None = None,
        options: dict[str, Any] | None = None,
        run: AuditRun | None = None,
        member_url: str | None = None,
    ) -> Reply:
        """Run an audit (or resume `run`), showing progress through `show`; returns the report
        (`member_url`: a link template for members, e.g. "https://discord.com/users/{id}")."""
        prefs = await self.server_settings(platform, server_id)
        run = run or await self.store.create_run(platform, server_id, requested_by, options or {})
        cancel = self._cancels.setdefault(run.id, asyncio.Event())

        async def on_progress(p: Progress) -> None:
            try:
                await show(progress_reply(run.id, p))
            except Exception as exc:  # a failed progress edit never stops the audit
                log.warning("progress update failed: %r", exc)

        try:
            report = await self.runner(fetch, prefs.min_strength).run(
                run, members, total=total, on_progress=on_progress, cancel=cancel
            )
        finally:
            self._cancels.pop(run.id, None)
        return report_reply(report, server_name, prefs.min_strength, member_url)

    def cancel(self, run_id: str) -> bool:
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    async def unfinished(self, platform: str) -> list[AuditRun]:
        return await self.store.unfinished_runs(platform)

    async def watch(
        self, platform: str, server_id: str, member: Member, fetch: Fetch
    ) -> Reply | None:
        """Check a joining member or a changed avatar; a note for the mod-log, or None."""
        prefs = await self.server_settings(platform, server_id)
        if not prefs.watch or not member.avatar_url:
            return None
        runner = self.runner(fetch, prefs.min_strength)
        row, _thumb, _cached = await runner.audit_member(platform, member)
        if row.sha256 is None:
            return None
        await self.store.remember_avatar(
            platform, server_id, member.id, row.sha256, row.phash, row.label
        )
        others = await self.store.server_phashes(platform, server_id)
        group = next(
            (
                g
                for g in duplicate_groups(others, self.settings.audit.dup_max_distance)
                if member.id in g
            ),
            [],
        )
        flagged = is_flagged(row.label, row.strength, prefs.min_strength)
        if not flagged and not group:
            return None
        return watch_reply(member, row.label, row.strength, row.evidence, group)

    async def avatar_unchanged(self, platform: str, server_id: str, member: Member) -> bool:
        """True when watch mode already saw this member with this avatar (an update event for
        a nickname or a role must not repeat a note)."""
        if not member.avatar_key:
            return False
        sha = await self.store.sha_for_avatar_key(platform, member.avatar_key)
        seen = await self.store.member_avatar_sha(platform, server_id, member.id)
        return sha is not None and sha == seen

    async def watch_details(self, platform: str, server_id: str, member_id: str) -> Reply | None:
        """What a mod-log note's "Details" button shows, rebuilt from what is stored (so it
        works after a restart, and not after /headshot-forget)."""
        sha = await self.store.member_avatar_sha(platform, server_id, member_id)
        cached = await self.store.get_result(sha) if sha else None
        if sha is None or cached is None:
            return None
        summary, _phash = cached
        phashes = await self.store.server_phashes(platform, server_id)
        group = next(
            (
                g
                for g in duplicate_groups(phashes, self.settings.audit.dup_max_distance)
                if member_id in g
            ),
            [],
        )
        others = [m for m in group if m != member_id]
        return details_reply(member_id, sha, summary, others)

    async def members_seen(self, platform: str, server_id: str) -> set[str]:
        """Members some finished audit of this server covered ("only new members" where the
        platform does not say when someone joined)."""
        rows = await self.store.fetch(
            "SELECT DISTINCT r.member_id FROM audit_results r JOIN audit_runs u "
            "ON u.id = r.run_id WHERE u.platform = ? AND u.server_id = ? AND u.status = 'done'",
            platform,
            server_id,
        )
        return {str(row[0]) for row in rows}

    async def forget(self, platform: str, member_id: str, server_id: str | None = None) -> None:
        await self.store.forget_member(platform, member_id, server_id)

    async def purge(self) -> None:
        await self.store.purge_older_than(self.settings.audit.retention_days)

    async def purge_server(self, platform: str, server_id: str) -> None:
        """Apply a server's retention setting when it is shorter than the global one."""
        prefs = await self.server_settings(platform, server_id)
        if prefs.retention_days < self.settings.audit.retention_days:
            await self.store.purge_server_older_than(platform, server_id, prefs.retention_days)


def details_reply(member_id: str, sha: str, summary: dict[str, Any], others: list[str]) -> Reply:
    w = messages.table("moderation.note_details")
    strength = w["strength"].format(strength=summary["strength"]) if summary.get("strength") else ""
    label = label_words().get(summary["label"], summary["label"])
    lines = [
        w["verdict"].format(label=label, strength=strength),
        w["evidence"].format(evidence=summary["evidence"] or w["no_evidence"]),
        w["sha"].format(sha=sha),
    ]
    sections = [Section(w["avatar"], lines)]
    if others:
        more = [w["more"].format(count=len(others) - 20)] if len(others) > 20 else []
        sections.append(Section(w["shared"], others[:20] + more))
    sections.append(Section(w["before_acting"], list(w["caution"])))
    return Reply(title=w["title"].format(id=member_id), sections=sections)


def watch_reply(
    member: Member, label: str, strength: str | None, evidence: str, group: list[str]
) -> Reply:
    w = messages.table("moderation.note")
    is_ai = label in {kind.value for kind in Label} and Label(label).is_ai
    lines = []
    if is_ai:
        lines.append(w[label].format(strength=strength, evidence=evidence))
    if group:
        lines.append(w["shared"].format(others=len(group) - 1))
    lines.append(w["no_action"])
    return Reply(
        title=w["title"].format(name=member.name),
        summary=w["summary"].format(name=member.name, id=member.id),
        tone=label if is_ai else "warning",
        sections=[Section(w["section"], lines)],
        ephemeral=False,
    )
