"""/headshot-audit (`/headshot-audit new`: only members earlier audits have not seen) and the
Cancel button. The flow is bot.audit.flows'; Slack's side of it is slack_listeners/port.py:
progress in the requester's DM, the report in the mod-log channel or that DM. Runs a restart
interrupted are resumed at start-up (`resume_unfinished`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.port import DmView, SlackModeration
from bot.adapters.slack_oauth import Workspaces
from bot.audit.flows import notice
from bot.audit.port import AuditOptions
from bot.core.buttons import CANCEL, moderator_pattern, parse_button_id
from bot.core.request import Platform

log = logging.getLogger(__name__)

AUDIT = "/headshot-audit"
CANCEL_BUTTON = re.compile("^" + moderator_pattern(CANCEL))
ONLY_NEW = ("new", "only-new", "new-members")


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.command(AUDIT)
    async def headshot_audit(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        bridge.jobs.spawn(_requested(bridge, client, command))

    @app.action(CANCEL_BUTTON)
    async def cancel_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = parse_button_id(str(action.get("action_id", "")))
        if parsed is not None:
            bridge.jobs.spawn(_cancel(bridge, client, body, parsed[0]))


def options_of(text: str) -> AuditOptions:
    return AuditOptions(only_new=text.strip().lower() in ONLY_NEW)


async def _requested(bridge: Bridge, client: AsyncWebClient, command: dict[str, Any]) -> None:
    user, team = command["user_id"], command["team_id"]
    here = Target(
        user=user, channel=command.get("channel_id"), response_url=command.get("response_url")
    )
    flows = bridge.moderation
    if flows is None:
        await bridge.send(client, here, [notice("not_set_up", Platform.SLACK, "error")])
        return
    port = SlackModeration(bridge, client, team)
    refusal = await flows.open_audit(port, user)
    if refusal is not None:
        await bridge.send(client, here, [refusal])
        return
    view = DmView(bridge, client, user)
    try:
        await bridge.send(client, here, [await flows.started(port, view)])
    except BaseException:
        flows.release(port)
        raise
    flows.start_audit(port, user, options_of(command.get("text") or ""), view)


async def _cancel(bridge: Bridge, client: AsyncWebClient, body: dict[str, Any], run: str) -> None:
    flows = bridge.moderation
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    if flows is None:
        return
    user = body["user"]["id"]
    reply = await flows.cancel(SlackModeration(bridge, client, team), user, run)
    await bridge.send(client, Target(user=user, response_url=body.get("response_url")), [reply])


async def resume_unfinished(bridge: Bridge, workspaces: Workspaces) -> int:
    """Start again every audit a restart interrupted, each with its workspace's own token,
    if its requester still moderates; results already stored are kept and those members
    skipped. Returns how many resumed."""
    flows = bridge.moderation
    if flows is None:
        return 0
    resumed = 0
    for run in await flows.audits.unfinished(Platform.SLACK):
        client = await workspaces.client(run.server_id)
        if client is None:
            log.info("not resuming audit %s: the app is not installed in its workspace", run.id)
            await flows.audits.store.update_run(run.id, status="cancelled")
            continue
        if await flows.resume(SlackModeration(bridge, client, run.server_id), run):
            log.info("resuming audit %s of %s", run.id, run.server_id)
            resumed += 1
    return resumed
