"""/headshot-audit: an avatar audit of the whole workspace for admins and moderators.

Progress is one DM message edited with chat.update (with a Cancel button); the report (summary
blocks, CSV and HTML files) goes to the configured mod-log channel, else to the requester's DM.
Runs a restart interrupted are resumed at start-up (`resume_unfinished`)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.members import (
    MissingScope,
    allowed,
    avatar_fetcher,
    is_moderator,
    list_members,
)
from bot.audit.runner import Member
from bot.core.reply import Reply
from bot.core.sessions import parse_button_id
from bot.render.slack import fallback_text, messages, render_blocks
from bot.store import AuditRun

log = logging.getLogger(__name__)

AUDIT = "/headshot-audit"
CANCEL = re.compile(r"^hc:cancel:")
PLATFORM = "slack"


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.command(AUDIT)
    async def headshot_audit(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        bridge.jobs.spawn(_requested(bridge, client, command))

    @app.action(CANCEL)
    async def cancel_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = parse_button_id(str(action.get("action_id", "")))
        if parsed is not None and bridge.audits is not None:
            run_id = parsed[0]
            if not bridge.audits.cancel(run_id):
                note = _say("not_running", "info")
                target = Target(user=body["user"]["id"], response_url=body.get("response_url"))
                bridge.jobs.spawn(bridge.send(client, target, [note]))


def _say(key: str, tone: str = "warning", **fmt: str) -> Reply:
    return Reply(title="Avatar audit", summary=messages()["audit"][key].format(**fmt), tone=tone)


async def _requested(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    user, team = command["user_id"], command["team_id"]
    here = Target(
        user=user, channel=command.get("channel_id"), response_url=command.get("response_url")
    )
    audits = bridge.audits
    if audits is None:
        await bridge.send(client, here, [_say("not_set_up", "error")])
        return
    if not await allowed(bridge, client, team, user, here, messages()["audit"]["refused"]):
        return
    if team in bridge.auditing:
        await bridge.send(client, here, [_say("already_running", "info")])
        return
    # An audit that stopped on an error is continued rather than started afresh.
    stopped = next((r for r in await audits.unfinished(PLATFORM) if r.server_id == team), None)
    prefs = await audits.server_settings(PLATFORM, team)
    where = messages()["audit"]["where_modlog" if prefs.modlog_channel else "where_dm"]
    await bridge.send(client, here, [_say("started", "info", where=where)])
    await run_audit(bridge, client, team, user, stopped)


async def run_audit(
    bridge: Bridge, client: AsyncWebClient, team: str, user: str, run: AuditRun | None = None
) -> None:
    """List the members, audit them with progress in the requester's DM, deliver the report."""
    task = asyncio.current_task()
    assert task is not None
    bridge.auditing[team] = task
    try:
        await _run_audit(bridge, client, team, user, run)
    finally:
        bridge.auditing.pop(team, None)


async def _run_audit(
    bridge: Bridge, client: AsyncWebClient, team: str, user: str, run: AuditRun | None
) -> None:
    assert bridge.audits is not None
    m = messages()["audit"]
    dm = await bridge.dm_channel(client, user)
    first = Reply(
        title=m["resumed_title" if run else "listing_title"],
        summary=m["resumed" if run else "listing"],
    )
    posted = await client.chat_postMessage(
        channel=dm, blocks=render_blocks(first), text=fallback_text(first)
    )
    ts = posted["ts"]

    async def show(reply: Reply) -> None:
        # The Cancel button's id is already complete (hc:cancel:<run id>).
        blocks = render_blocks(reply, lambda ident: ident)
        await client.chat_update(channel=dm, ts=ts, blocks=blocks, text=fallback_text(reply))

    async def listed(count: int) -> None:
        summary = m["listed"].format(count=f"{count:,}")
        try:
            await show(Reply(title=m["listing_title"], summary=summary))
        except SlackApiError as exc:  # only the progress edit failed: carry on listing
            log.warning("could not update the progress message: %s", exc.response.get("error"))

    try:
        members = await list_members(client, bridge.settings.slack.users_page_size, listed)
        name, member_url = await _team(client)
    except SlackApiError as exc:
        log.warning("could not list the members: %s", exc.response.get("error"))
        await bridge.send(
            client,
            Target(user=user, channel=dm),
            [_say("failed", "error", error=str(exc.response.get("error")))],
        )
        return
    report = await bridge.audits.start(
        PLATFORM,
        team,
        name,
        user,
        _stream(members),
        avatar_fetcher(bridge),
        show,
        total=len(members),
        run=run,
        member_url=member_url,
    )
    where = await _deliver(bridge, client, team, Target(user=user, channel=dm), report)
    done = Reply(
        title=report.title, summary=m["finished"].format(summary=report.summary, where=where)
    )
    try:
        await show(done)
    except SlackApiError as exc:  # the report itself was delivered; only the edit failed
        log.warning("could not update the progress message: %s", exc.response.get("error"))


async def _stream(members: list[Member]) -> AsyncIterator[Member]:
    for member in members:
        yield member


async def _team(client: AsyncWebClient) -> tuple[str, str | None]:
    """The workspace's name, and a link template for its members' profiles when Slack says
    where the workspace lives (https://<domain>.slack.com/team/<id>)."""
    info = await client.auth_test()
    url = str(info.get("url") or "")
    member_url = url.rstrip("/").replace("{", "").replace("}", "") + "/team/{id}" if url else None
    return str(info.get("team") or "this workspace"), member_url


async def _deliver(
    bridge: Bridge, client: AsyncWebClient, team: str, dm: Target, report: Reply
) -> str:
    """To the mod-log channel when one is set (falling back to the DM if the app can't post
    there); returns where it went, in words."""
    assert bridge.audits is not None
    m = messages()["audit"]
    modlog = (await bridge.audits.server_settings(PLATFORM, team)).modlog_channel
    if modlog:
        try:
            await bridge.deliver(client, Target(user=dm.user, channel=modlog), report)
            return m["where_modlog"]
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            log.warning("could not post the audit report in %s: %s", modlog, error)
            await bridge.send(client, dm, [_say("modlog_failed", error=error)])
    await bridge.send(client, dm, [report])
    return m["where_dm"]


async def resume_unfinished(bridge: Bridge, client: AsyncWebClient) -> int:
    """Start again every audit a restart interrupted; results already stored are kept and
    those members skipped. Returns how many were resumed."""
    if bridge.audits is None:
        return 0
    resumed = 0
    for run in await bridge.audits.unfinished(PLATFORM):
        # A report about every member goes only to someone who may still see it.
        try:
            still = await is_moderator(bridge, client, run.server_id, run.requested_by)
        except MissingScope:
            still = False
        if not still:
            log.info("not resuming audit %s: its requester is no longer a moderator", run.id)
            await bridge.audits.store.update_run(run.id, status="cancelled")
            continue
        log.info("resuming audit %s of %s", run.id, run.server_id)
        bridge.jobs.spawn(run_audit(bridge, client, run.server_id, run.requested_by, run))
        resumed += 1
    return resumed
