"""What every Slack listener shares: the core service, the reply cache behind buttons, the
background jobs that do the work after `ack()`, and delivering replies to Slack."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import messages as catalogue
from bot.audit.audit_service import AuditService
from bot.audit.flows import ModerationFlows
from bot.core.buttons import button_id, parse_button_id
from bot.core.reply import Reply
from bot.core.request import Request
from bot.core.service import HeadshotService
from bot.core.state import make_reply_cache
from bot.render.slack import escape, render_message
from bot.settings import Settings, SlackSettings

log = logging.getLogger(__name__)

# chat.postEphemeral fails with these where the bot cannot post: then the result goes by DM.
EPHEMERAL_IMPOSSIBLE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "user_not_in_channel",
        "is_archived",
        "restricted_action",
    }
)


@dataclass(frozen=True)
class Target:
    """Where replies go: a channel (or DM) and thread, privately to one user, or a response_url
    (slash commands, buttons on ephemeral messages)."""

    user: str
    channel: str | None = None
    thread_ts: str | None = None
    ephemeral: bool = False
    response_url: str | None = None


class Jobs:
    """Background tasks started after `ack()`. Keeps references (bare tasks can be garbage
    collected mid-flight), bounds how many run at once (a burst of events waits its turn
    instead of opening hundreds of downloads), logs failures, and can be drained."""

    def __init__(self, max_running: int = 32) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(max_running)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self._run(coro))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        async with self._slots:
            return await coro

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack job failed", exc_info=task.exception())

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until no job is running (jobs may start further jobs)."""
        async with asyncio.timeout(timeout_s):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)


class AnyServerErrorRetryHandler(AsyncRetryHandler):
    """Retries every 5xx answer (slack_sdk's own handler retries only 500 and 503)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


def retry_handlers(s: SlackSettings) -> list[AsyncRetryHandler]:
    """For every Web API and response_url call: wait out 429's Retry-After, back off
    exponentially (with jitter) on 5xx answers and dropped connections."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=s.retry_backoff_s)
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=s.ratelimit_retries),
        AnyServerErrorRetryHandler(s.server_error_retries, backoff),
        AsyncConnectionErrorRetryHandler(s.connection_retries, backoff),
    ]


class Lanes:
    """One queue per conversation. Slack takes about a message a second in one channel (with
    short bursts): replies to the same place go one at a time, in order, so a burst waits out
    Retry-After as a queue instead of retrying as a crowd of which most are refused again."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]


class Bridge:
    def __init__(
        self, settings: Settings, service: HeadshotService, audits: AuditService | None = None
    ) -> None:
        self.settings = settings
        self.service = service
        self.audits = audits  # None: no store configured, so no audits or watch mode
        self._moderation: ModerationFlows | None = None
        self.cache = make_reply_cache(settings, ttl_s=settings.slack.reply_ttl_s)
        self.jobs = Jobs(settings.slack.max_jobs)
        self.lanes = Lanes()
        self._session: aiohttp.ClientSession | None = None

    @property
    def moderation(self) -> ModerationFlows | None:
        """The moderator flows (bot/audit/flows.py), run as this bridge's jobs; None without
        storage. Made for the `audits` in place now (tests set it after construction)."""
        if self.audits is None:
            return None
        if self._moderation is None or self._moderation.audits is not self.audits:
            self._moderation = ModerationFlows(self.audits, spawn=self.jobs.spawn)
        return self._moderation

    # -- plumbing ------------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        """One HTTP session for file downloads, created on the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Audits stop where they are (stored results are kept, and the audit resumes at the
        next start); other jobs get a moment to finish."""
        if self._moderation is not None:
            await self._moderation.stop()
        try:
            await self.jobs.drain(timeout_s=10)
        except TimeoutError:
            log.warning("Slack jobs still running at shutdown; leaving them")
        if self._session is not None:
            await self._session.close()

    # -- the work ------------------------------------------------------------------------
    def admit_files(self, req: Request, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The files the person's rate limit admits, asked before anything is fetched (not
        even files.info); the others are named in `req.left_out`, to send again later."""
        wanted = files[: self.settings.slack.max_files]
        req.admission = self.service.admit(req.platform, req.user_id, len(wanted))
        granted = req.admission.granted
        if granted == len(wanted):
            return files  # collect() checks these, and says when there were too many
        req.left_out = [
            str(f.get("name") or f.get("title") or f.get("id")) for f in files[granted:]
        ]
        return files[:granted]

    async def answer(self, client: AsyncWebClient, req: Request, target: Target) -> None:
        replies = await self.service.handle(req)
        await self.send(client, target, replies)

    async def dm_channel(self, client: AsyncWebClient, user: str) -> str:
        resp = await client.conversations_open(users=user)
        return str(resp["channel"]["id"])

    async def send(self, client: AsyncWebClient, target: Target, replies: list[Reply]) -> None:
        """All of `replies`, in order and after the replies queued before them for the same
        place; an error Slack still gives after the retries is logged, not raised."""
        async with self.lanes.turn(_lane(target)):
            await self._send_all(client, target, replies)

    async def _send_all(self, client: AsyncWebClient, target: Target, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                try:
                    await self._send_one(client, target, reply)
                except _EphemeralImpossible:
                    # Not in that conversation: say so once in the DM, and send the rest there.
                    dm = await self.dm_channel(client, target.user)
                    target = Target(user=target.user, channel=dm)
                    note = escape(catalogue.text("slack.shortcut.dm_note"))
                    await client.chat_postMessage(channel=dm, text=note)
                    await self._send_one(client, target, reply)
            except SlackApiError as exc:
                # Nowhere left to tell the person: log it with Slack's own error code.
                log.warning("could not deliver a reply to Slack: %s", _error_code(exc))
            except (aiohttp.ClientError, TimeoutError) as exc:  # still failing after the retries
                log.warning("could not reach Slack to deliver a reply: %s", type(exc).__name__)

    async def deliver(self, client: AsyncWebClient, target: Target, reply: Reply) -> None:
        """One reply, raising SlackApiError (for callers with a fallback of their own)."""
        async with self.lanes.turn(_lane(target)):
            await self._send_one(client, target, reply)

    async def _send_one(self, client: AsyncWebClient, target: Target, reply: Reply) -> None:
        token = self.cache.put(reply) if (reply.pages or reply.offers) else None
        message = render_message(reply, _button_ids(reply, token), self.settings.slack.colours)
        if target.response_url:
            hook = AsyncWebhookClient(
                target.response_url,
                session=self.session(),
                retry_handlers=retry_handlers(self.settings.slack),
            )
            resp = await hook.send(**message, response_type="ephemeral", replace_original=False)
            if resp.status_code != 200:  # response URLs expire after 30 minutes or 5 uses
                log.warning("response_url answered %s: %s", resp.status_code, resp.body[:200])
            return
        channel = target.channel or await self.dm_channel(client, target.user)
        target = replace(target, channel=channel)
        if target.ephemeral:
            # Ephemeral messages cannot carry files; the buttons still work.
            try:
                await client.chat_postEphemeral(
                    channel=channel, user=target.user, thread_ts=target.thread_ts, **message
                )
            except SlackApiError as exc:
                if _error_code(exc) in EPHEMERAL_IMPOSSIBLE:
                    raise _EphemeralImpossible from exc
                raise
            return
        await client.chat_postMessage(channel=channel, thread_ts=target.thread_ts, **message)
        if reply.attachments:
            await self.upload(client, target, reply)

    async def upload(self, client: AsyncWebClient, target: Target, reply: Reply) -> None:
        """Files (an annotated picture, a metadata-free copy) with files_upload_v2."""
        await client.files_upload_v2(
            channel=target.channel,
            thread_ts=target.thread_ts,
            file_uploads=[
                {"content": a.data, "filename": a.filename, "title": a.description or a.filename}
                for a in reply.attachments
            ],
        )

    async def to_dm(self, client: AsyncWebClient, target: Target) -> Target:
        """The same person, in their DM with the bot (for files, which ephemeral messages and
        response URLs cannot carry)."""
        if target.channel and target.channel.startswith("D") and not target.ephemeral:
            return replace(target, response_url=None)
        return Target(user=target.user, channel=await self.dm_channel(client, target.user))


def _button_ids(reply: Reply, token: str | None) -> Callable[[str], str] | None:
    """Buttons answered from the reply cache get the cache token; buttons whose id is already
    complete (an audit's Cancel, a watch note's Details) keep it; None leaves buttons out."""
    if reply.actions and all(parse_button_id(a.id) for a in reply.actions):
        return lambda ident: ident
    if token:
        return lambda name: button_id(token, name)
    return None


def _lane(target: Target) -> str:
    """Where a reply goes, as one queue: a response URL, a channel, or the person's DM."""
    return target.response_url or target.channel or f"dm:{target.user}"


class _EphemeralImpossible(Exception):
    pass


def _error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except AttributeError:
        return "unknown"
