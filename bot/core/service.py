"""The core service: routes platform-neutral requests to analysis and guidance, and returns
platform-neutral replies. It knows nothing of Discord or Slack."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from dataclasses import replace
from functools import partial

from bot import messages
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.run import analyze
from bot.analysis.pipeline.verdict import Label
from bot.analysis.strip.clean_copy import strip_metadata
from bot.core import compose
from bot.core.apology import apology
from bot.core.pool import AnalysisPool, PoolError
from bot.core.reply import Attachment, Reply
from bot.core.request import Admission, ImageInput, Kind, Platform, Request
from bot.core.scale import make_pool
from bot.core.state import make_limiter
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
        # In this process's workers, or on the queue when configured (bot/core/scale.py).
        self.pool = pool or make_pool(self.settings)
        self.guide = guide or get_guide()
        # In this process, or in Redis for several bot processes (bot/core/state.py).
        self.limiter = make_limiter(self.settings)
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
            return [apology(log, "request failed (platform %s)", req.platform)]

    async def _route(self, req: Request) -> list[Reply]:
        if req.kind == Kind.HELP:
            return [compose.help_reply(req.platform)]
        if req.kind == Kind.DISCLOSE:
            label = Label.AI_EDITED if req.edit_only else Label.AI_GENERATED
            # No place given: wording that fits anywhere, never an assumed LinkedIn.
            d = self.guide.disclosure(req.context, label, req.tool, req.edit_only)
            return [compose.disclosure_reply(d)]
        if req.images or req.intake_errors or req.left_out or req.kind == Kind.CHECK:
            return await self._check(req)
        question = self.admit(req.platform, req.user_id, question=True)
        if not question.granted:
            wait = compose.seconds(question.wait_s)
            return [compose.message_reply("rate_limited_question", "warning", wait=wait)]
        return [compose.answer_reply(self.guide.answer(req.text), req.platform)]

    def admit(
        self, platform: Platform, user_id: str, n: int = 1, *, question: bool = False
    ) -> Admission:
        """Reserve a person's share of the rate limit before any work on it: adapters call
        this before downloading photos, so a flood is refused unread. A photo costs 1, a
        question `rate_limit.question_cost`. The person at the terminal is the operator:
        the limit protects shared bots only."""
        if Platform(platform).is_local:
            return Admission(n, n)
        cost = self.settings.rate_limit.question_cost if question else 1.0
        granted, wait = self.limiter.take(f"{platform}:{user_id}", n, cost)
        return Admission(n, granted, wait)

    async def _check(self, req: Request) -> list[Reply]:
        errors = [compose.error_reply(name, msg) for name, _code, msg in req.intake_errors]
        images, left_out, admission = req.images, list(req.left_out), req.admission
        if admission is None:  # nobody asked before downloading: ask now
            admission = self.admit(req.platform, req.user_id, len(images))
            images = req.images[: admission.granted]
            left_out += [img.filename for img in req.images[admission.granted :]]
        wait = compose.seconds(admission.wait_s)
        if left_out and not admission.granted:
            return [compose.message_reply("rate_limited", "warning", wait=wait), *errors]
        if left_out:
            n, limit, names = admission.granted, self.limiter.per_minute, ", ".join(left_out)
            note = compose.message_reply(
                "too_many_photos", "warning", n=n, limit=limit, wait=wait, names=names
            )
            errors.append(note)
        if not images:
            return errors or [compose.message_reply("no_images", "warning")]
        results = await asyncio.gather(*(self._check_one(img, req) for img in images))
        replies = [r for pair in results for r in pair if r is not None]
        # Public results first, private notes after: an adapter's first follow-up takes the
        # visibility of the deferred response.
        replies.sort(key=lambda r: r.private)
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
        note = messages.text(f"check.stripped.{copy.how}")
        described = messages.text("replies.stripped.description")
        return Attachment(copy.filename, copy.data, described, note)

    def close(self) -> None:
        self.pool.close()


def _renamed(report: Report, filename: str) -> Report:
    if report.filename == filename:
        return report
    return replace(report, filename=filename)
