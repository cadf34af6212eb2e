"""The avatar audit: stream members from an adapter, fetch avatars with bounded concurrency,
analyse each unique picture once (content-hash cache), group duplicates, report progress,
and survive restarts (results are written as they come; a resumed run skips them)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bot import messages
from bot.analysis.pipeline.findings import Strength
from bot.analysis.pipeline.verdict import Label
from bot.audit.avatar import AvatarResult, analyze_avatar, hash_and_thumb
from bot.audit.duplicates import duplicate_groups
from bot.core.download import DownloadError
from bot.core.pool import AnalysisPool, PoolError
from bot.store import AuditRow, AuditRun, Store

log = logging.getLogger(__name__)

# Strength name -> rank (weak 0 … conclusive 3), for rows whose strength is stored as text.
STRENGTH_RANK = {s.value: s.rank for s in sorted(Strength, key=lambda s: s.rank)}


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    avatar_url: str | None  # None: the member uses the platform's default avatar
    avatar_key: str | None = None  # the platform's avatar id, when it has one
    joined_at: float | None = None  # when they joined the server, where the platform says


@dataclass
class Progress:
    done: int
    total: int | None
    flagged: int
    cached: int
    started: float

    @property
    def eta_s(self) -> float | None:
        if not self.total or not self.done:
            return None
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        return max(0.0, (self.total - self.done) / rate)


@dataclass
class AuditReport:
    run: AuditRun
    rows: list[AuditRow]
    groups: list[list[str]]
    thumbs: dict[str, bytes] = field(default_factory=dict)  # member id -> small JPEG (flagged)
    cancelled: bool = False
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.label] = out.get(r.label, 0) + 1
        return out

    def flagged(self, min_strength: str = "moderate") -> list[AuditRow]:
        return [r for r in self.rows if is_flagged(r.label, r.strength, min_strength)]

    def group_of(self) -> dict[str, int]:
        return {mid: i + 1 for i, g in enumerate(self.groups) for mid in g}


def strength_rank(strength: str | None) -> int:
    """A stored strength's rank; -1 for none (or one this version does not know)."""
    return STRENGTH_RANK.get(strength or "", -1)


def is_flagged(label: str, strength: str | None, min_strength: str) -> bool:
    is_ai = label in Label.__members__.values() and Label(label).is_ai
    return is_ai and strength_rank(strength) >= Strength(min_strength).rank


@cache
def audit_wording() -> dict[str, Any]:
    """The audit report's wording: config/messages/audit_report.toml, from the catalogue."""
    return messages.table("audit_report")


Fetch = Callable[[Member], Awaitable[bytes]]
OnProgress = Callable[[Progress], Awaitable[None]]


class AuditRunner:
    def __init__(
        self,
        store: Store,
        pool: AnalysisPool,
        fetch: Fetch,
        *,
        concurrency: int = 16,
        progress_interval_s: float = 3.0,
        min_strength: str = "moderate",
        dup_max_distance: int = 4,
    ) -> None:
        self.store = store
        self.pool = pool
        self.fetch = fetch
        self.concurrency = concurrency
        self.progress_interval_s = progress_interval_s
        self.min_strength = min_strength
        self.dup_max_distance = dup_max_distance

    async def run(
        self,
        run: AuditRun,
        members: AsyncIterator[Member],
        *,
        total: int | None = None,
        on_progress: OnProgress | None = None,
        cancel: asyncio.Event | None = None,
    ) -> AuditReport:
        started = time.monotonic()
        cancel = cancel or asyncio.Event()
        done_before = await self.store.done_members(run.id)
        if total is not None:
            await self.store.update_run(run.id, total=total)
        progress = Progress(len(done_before), total, 0, 0, started)
        thumbs: dict[str, bytes] = {}
        queue: asyncio.Queue[Member | None] = asyncio.Queue(maxsize=self.concurrency * 4)
        batch: list[AuditRow] = []

        async def worker() -> None:
            while (member := await queue.get()) is not None:
                if cancel.is_set():  # drain what is queued; a resumed run picks it up
                    continue
                row, thumb, cached = await self.audit_member(run.platform, member)
                batch.append(row)
                progress.done += 1
                progress.cached += cached
                if is_flagged(row.label, row.strength, self.min_strength):
                    progress.flagged += 1
                if thumb:
                    thumbs[member.id] = thumb
                if len(batch) >= 64:
                    await self._flush(run.id, batch)

        async def reporter() -> None:
            while on_progress:
                await asyncio.sleep(self.progress_interval_s)
                await on_progress(progress)

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        ticker = asyncio.create_task(reporter())
        try:
            async for member in members:
                if cancel.is_set():
                    break
                if member.id not in done_before:
                    await queue.put(member)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            ticker.cancel()
            await self._flush(run.id, batch)
        status = "cancelled" if cancel.is_set() else "done"
        await self.store.update_run(run.id, status=status)
        if on_progress:
            await on_progress(progress)
        return await self._report(run, thumbs, cancel.is_set(), time.monotonic() - started)

    async def _flush(self, run_id: str, batch: list[AuditRow]) -> None:
        rows, batch[:] = list(batch), []
        if rows:
            await self.store.add_results(run_id, rows)

    async def audit_member(
        self, platform: str, member: Member
    ) -> tuple[AuditRow, bytes | None, int]:
        if not member.avatar_url:
            return AuditRow(member.id, member.name, None, None, "default_avatar", None), None, 0
        if member.avatar_key:  # an avatar id we have seen: no download, no analysis
            sha = await self.store.sha_for_avatar_key(platform, member.avatar_key)
            row = await self._cached_row(member, sha) if sha else None
            if row and not is_flagged(row.label, row.strength, self.min_strength):
                return row, None, 1
        try:
            data = await self.fetch(member)
        except DownloadError as exc:
            return self._error_row(member, exc.code, exc.message), None, 0
        row, thumb, cached = await self._analyse(member, data)
        if member.avatar_key and row.sha256:
            await self.store.put_avatar_key(platform, member.avatar_key, row.sha256)
        return row, thumb, cached

    async def _cached_row(self, member: Member, sha: str) -> AuditRow | None:
        cached = await self.store.get_result(sha)
        if cached is None:
            return None
        summary, phash = cached
        return AuditRow(
            member.id,
            member.name,
            sha,
            phash,
            summary["label"],
            summary["strength"],
            summary["evidence"],
            summary["error"],
            summary.get("score"),  # results cached before scores were kept have none
        )

    async def _analyse(self, member: Member, data: bytes) -> tuple[AuditRow, bytes | None, int]:
        sha = hashlib.sha256(data).hexdigest()
        row = await self._cached_row(member, sha)
        if row is not None:
            flagged = is_flagged(row.label, row.strength, self.min_strength)
            return row, await self._thumb(data) if flagged else None, 1
        try:
            result: AvatarResult = await self.pool.run(
                analyze_avatar, data, f"{member.id}.img", sha
            )
        except PoolError as exc:
            return self._error_row(member, exc.code, exc.message), None, 0
        if result.error is None:
            await self.store.put_result(result.sha256, result.summary(), result.phash)
        row = AuditRow(
            member.id,
            member.name,
            result.sha256,
            result.phash,
            result.label,
            result.strength,
            result.evidence,
            result.error,
            result.score,
        )
        return row, result.thumb_jpeg, 0

    async def _thumb(self, data: bytes) -> bytes | None:
        try:
            return (await self.pool.run(hash_and_thumb, data))[1]
        except PoolError:
            return None

    def _error_row(self, member: Member, code: str, message: str) -> AuditRow:
        """The problem as a moderator can act on it: the photo answers ("try a smaller
        copy") are for the person who sent one, not for someone else's avatar."""
        wording = audit_wording()["errors"]
        if code in wording:
            message = wording[code].format(seconds=f"{self.pool.timeout_s:g}")
        return AuditRow(member.id, member.name, None, None, "error", None, "", message)

    async def _report(
        self, run: AuditRun, thumbs: dict[str, bytes], cancelled: bool, elapsed: float
    ) -> AuditReport:
        rows = await self.store.run_results(run.id)
        groups = duplicate_groups(
            ((r.member_id, r.phash) for r in rows if r.phash), self.dup_max_distance
        )
        in_group = {m for g in groups for m in g}
        # Members sharing one picture: only the first was analysed (and thumbnailed).
        by_sha = {r.sha256: thumbs[r.member_id] for r in rows if r.member_id in thumbs}
        for r in rows:
            if r.member_id not in thumbs and r.sha256 in by_sha:
                thumbs[r.member_id] = by_sha[r.sha256]
        keep = {r.member_id for r in rows if is_flagged(r.label, r.strength, self.min_strength)}
        kept = {m: t for m, t in thumbs.items() if m in keep or m in in_group}
        return AuditReport(run, rows, groups, kept, cancelled, elapsed)
