"""The core service: routes platform-neutral requests to analysis and guidance, and returns
platform-neutral replies. It knows nothing of Discord or Slack."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import OrderedDict
from dataclasses import replace
from functools import partial

from bot.analysis.pipeline import analyze
from bot.analysis.report import Report
from bot.analysis.strip import strip_metadata
from bot.core import compose
from bot.core.pool import AnalysisPool, PoolError
from bot.core.ratelimit import RateLimiter
from bot.core.reply import Attachment, Reply
from bot.core.request import LOCAL_PLATFORMS, ImageInput, Kind, Request
from bot.guidance import Guide, get_guide
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)


class HeadshotService:
    def __init__(
        self,
        settings: Settings | None = None,
        pool: AnalysisPool | None = None,
        guide: Guide | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.pool = pool or AnalysisPool(
            self.settings.analysis.workers, timeout_s=self.settings.limits.analysis_timeout_s
        )
        self.guide = guide or get_guide()
        self.limiter = RateLimiter(self.settings.rate_limit.per_user_per_minute)
        self._cache: OrderedDict[str, Report] = OrderedDict()

    async def start(self) -> None:
        """Before serving: start the analysis workers and build the question index off the
        event loop, so neither the first photo nor the first question stalls it."""
        await asyncio.gather(self.pool.warm_up(), asyncio.to_thread(lambda: self.guide.answerer))

    # -- requests --------------------------------------------------------------------------
    async def handle(self, req: Request) -> list[Reply]:
        """Answer one request. Never raises: failures become an apology with an error id."""
        try:
            return await self._route(req)
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("request failed (error id %s, platform %s)", error_id, req.platform)
            return [compose.message_reply("internal_error", "error", error_id=error_id)]

    async def _route(self, req: Request) -> list[Reply]:
        if req.kind == Kind.HELP:
            return [compose.help_reply(req.platform)]
        if req.kind == Kind.DISCLOSE:
            label = "ai_edited" if req.edit_only else "ai_generated"
            # No place given: wording that fits anywhere, never an assumed LinkedIn.
            d = self.guide.disclosure(req.context, label, req.tool, req.edit_only)
            return [compose.disclosure_reply(d)]
        if req.images or req.intake_errors or req.kind == Kind.CHECK:
            return await self._check(req)
        return [compose.answer_reply(self.guide.answer(req.text), req.platform)]

    async def _check(self, req: Request) -> list[Reply]:
        errors = [compose.error_reply(name, msg) for name, _code, msg in req.intake_errors]
        if not req.images:
            return errors or [compose.message_reply("no_images", "warning")]
        images, left_out = req.images, []
        # The person at the terminal is the operator: the limit protects shared bots only.
        cap = 0 if req.platform in LOCAL_PLATFORMS else self.limiter.per_minute
        if cap > 0 and len(images) > cap:
            images, left_out = images[:cap], images[cap:]
        key = f"{req.platform}:{req.user_id}"
        wait = self.limiter.retry_after(key, len(images)) if cap > 0 else 0
        if wait:
            return [compose.message_reply("rate_limited", "warning", wait=compose.seconds(wait))]
        results = await asyncio.gather(*(self._check_one(img, req) for img in images))
        replies = [r for pair in results for r in pair if r is not None]
        # Public results first, private notes after: an adapter's first follow-up takes the
        # visibility of the deferred response.
        replies.sort(key=lambda r: r.private)
        if left_out:
            names = ", ".join(img.filename for img in left_out)
            errors.append(compose.message_reply("too_many_photos", "warning", n=cap, names=names))
        return [*compose.without_repeated_guidance(replies), *errors]

    async def _check_one(self, image: ImageInput, req: Request) -> tuple[Reply, Reply | None]:
        report = await self.check(image)
        # A clean copy only for the photo's owner: nobody else is shown its privacy findings.
        wanted = req.for_owner and report.ok and report.privacy
        stripped = await self.stripped_copy(image) if wanted else None
        applies = req.note_files is None or image.filename in req.note_files
        note = req.platform_note if applies else None
        withhold = req.public or not req.for_owner
        reply = compose.check_reply(
            report, self.guide, req.context, note, stripped, withhold, req.platform
        )
        if not req.for_owner:
            compose.note_privacy_withheld(reply, report)
            return reply, None
        private = compose.privacy_reply(report, stripped) if req.public else None
        return reply, private

    # -- building blocks (also used by the CLI) -----------------------------------------------
    async def check(self, image: ImageInput) -> Report:
        """Analyse one image in the pool; results are cached by content hash."""
        # hashlib releases the GIL on large buffers: hash in a thread, off the event loop.
        key = await asyncio.to_thread(lambda: hashlib.sha256(image.data).hexdigest())
        if key in self._cache:
            self._cache.move_to_end(key)
            cached = self._cache[key]
            return _renamed(cached, image.filename)
        try:
            report = await self.pool.run(partial(analyze, sha256=key), image.data, image.filename)
        except PoolError as exc:
            return Report(
                image.filename, key, len(image.data), error_code=exc.code, error=exc.message
            )
        if report.ok:
            self._cache[key] = report
            while len(self._cache) > self.settings.analysis.cache_entries:
                self._cache.popitem(last=False)
        return report

    async def stripped_copy(self, image: ImageInput) -> Attachment | None:
        try:
            copy = await self.pool.run(strip_metadata, image.data, image.filename)
        except PoolError:
            return None
        note = compose.messages()["check"]["stripped"][copy.how]
        return Attachment(copy.filename, copy.data, "Copy without metadata", note)

    def close(self) -> None:
        self.pool.close()


def _renamed(report: Report, filename: str) -> Report:
    if report.filename == filename:
        return report
    return replace(report, filename=filename)
