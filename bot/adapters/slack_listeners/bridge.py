"""What every Slack listener shares: the core service, the reply cache behind buttons, the
background jobs that do the work after `ack()`, and delivering replies to Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.audit.service import AuditService
from bot.core.reply import Reply
from bot.core.request import Request
from bot.core.service import HeadshotService
from bot.core.sessions import ReplyCache, button_id, parse_button_id
from bot.render.slack import escape, messages, render_message
from bot.settings import Settings

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


class Bridge:
    def __init__(
        self, settings: Settings, service: HeadshotService, audits: AuditService | None = None
    ) -> None:
        self.settings = settings
        self.service = service
        self.audits = audits  # None: no store configured, so no audits or watch mode
        # Workspace -> its audit running in this process (cancelled at shutdown: stored
        # results are kept, and the audit resumes at the next start).
        self.auditing: dict[str, asyncio.Task[Any]] = {}
        self.cache = ReplyCache(ttl_s=settings.slack.reply_ttl_s)
        self.jobs = Jobs(settings.slack.max_jobs)
        self._session: aiohttp.ClientSession | None = None

    # -- plumbing ------------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        """One HTTP session for file downloads, created on the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        for task in list(self.auditing.values()):
            task.cancel()
        try:
            await self.jobs.drain(timeout_s=10)
        except TimeoutError:
            log.warning("Slack jobs still running at shutdown; leaving them")
        if self._session is not None:
            await self._session.close()

    # -- the work ------------------------------------------------------------------------
    async def answer(self, client: AsyncWebClient, req: Request, target: Target) -> None:
        replies = await self.service.handle(req)
        await self.send(client, target, replies)

    async def dm_channel(self, client: AsyncWebClient, user: str) -> str:
        resp = await client.conversations_open(users=user)
        return resp["channel"]["id"]

    async def send(self, client: AsyncWebClient, target: Target, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                try:
                    await self._send_one(client, target, reply)
                except _EphemeralImpossible:
                    # Not in that conversation: say so once in the DM, and send the rest there.
                    target = Target(
                        user=target.user, channel=await self.dm_channel(client, target.user)
                    )
                    note = escape(messages()["shortcut"]["dm_note"])
                    await client.chat_postMessage(channel=target.channel, text=note)
                    await self._send_one(client, target, reply)
            except SlackApiError as exc:
                # Nowhere left to tell the person: log it with Slack's own error code.
                log.warning("could not deliver a reply to Slack: %s", _error_code(exc))

    async def deliver(self, client: AsyncWebClient, target: Target, reply: Reply) -> None:
        """One reply, raising SlackApiError (for callers with a fallback of their own)."""
        await self._send_one(client, target, reply)

    async def _send_one(self, client: AsyncWebClient, target: Target, reply: Reply) -> None:
        token = self.cache.put(reply) if (reply.pages or reply.offers) else None
        message = render_message(reply, _button_ids(reply, token), self.settings.slack.colours)
        if target.response_url:
            hook = AsyncWebhookClient(target.response_url, session=self.session())
            resp = await hook.send(**message, response_type="ephemeral", replace_original=False)
            if resp.status_code != 200:  # response URLs expire after 30 minutes or 5 uses
                log.warning("response_url answered %s: %s", resp.status_code, resp.body[:200])
            return
        if target.channel is None:
            target = replace(target, channel=await self.dm_channel(client, target.user))
        if target.ephemeral:
            # Ephemeral messages cannot carry files; the buttons still work.
            try:
                await client.chat_postEphemeral(
                    channel=target.channel, user=target.user, thread_ts=target.thread_ts, **message
                )
            except SlackApiError as exc:
                if _error_code(exc) in EPHEMERAL_IMPOSSIBLE:
                    raise _EphemeralImpossible from exc
                raise
            return
        await client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts, **message)
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


class _EphemeralImpossible(Exception):
    pass


def _error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except AttributeError:
        return "unknown"
