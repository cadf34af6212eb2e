"""Slash commands. Slack cannot attach files to a slash command, so /headshot-check opens a
modal with a file input, or checks the Slack file its text links to."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as catalogue
from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.files import api_error_message, collect_ids, file_ids
from bot.core.reply import Reply
from bot.core.request import Kind, Platform, Request
from bot.guidance import CONTEXTS, context_slug
from bot.render.slack import check_modal, context_label

log = logging.getLogger(__name__)

CHECK, ASK, DISCLOSE = "/headshot-check", "/headshot-ask", "/headshot-disclose"
COMMANDS = (CHECK, ASK, DISCLOSE)


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.command(CHECK)
    async def headshot_check(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        target = _target(command)
        ids = file_ids(command.get("text") or "")
        if ids:
            bridge.jobs.spawn(_check_files(bridge, client, ids, target))
            return
        await open_check_modal(bridge, client, command["trigger_id"], target)

    @app.command(ASK)
    async def headshot_ask(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        kind = Kind.ASK if text else Kind.HELP
        req = Request(kind, Platform.SLACK, user_id=command["user_id"], text=text)
        bridge.jobs.spawn(bridge.answer(client, req, _target(command)))

    @app.command(DISCLOSE)
    async def headshot_disclose(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        target = _target(command)
        req = parse_disclose(command.get("text") or "", command["user_id"])
        if req is None:
            bridge.jobs.spawn(bridge.send(client, target, [_disclose_usage()]))
        else:
            bridge.jobs.spawn(bridge.answer(client, req, target))


async def open_check_modal(
    bridge: Bridge, client: AsyncWebClient, trigger_id: str, target: Target
) -> None:
    """Open the upload form. A trigger_id expires 3 s after the click or command, so this runs
    right after ack(), not in a background job."""
    try:
        modal = check_modal(CONTEXTS, bridge.settings.slack.max_files)
        await client.views_open(trigger_id=trigger_id, view=modal)
    except SlackApiError as exc:
        code, message = api_error_message(exc)
        log.warning("views.open failed: %s", code)
        reply = Reply(title="I couldn't open the form", summary=message, tone="error")
        bridge.jobs.spawn(bridge.send(client, target, [reply]))


def _target(command: dict[str, Any]) -> Target:
    return Target(
        user=command["user_id"],
        channel=command.get("channel_id"),
        response_url=command.get("response_url"),
    )


async def _check_files(
    bridge: Bridge, client: AsyncWebClient, ids: list[str], target: Target
) -> None:
    req = Request(Kind.CHECK, Platform.SLACK, user_id=target.user)
    admitted = bridge.admit_files(req, [{"id": i} for i in ids])
    await collect_ids(bridge, client, req, [f["id"] for f in admitted], where=target.channel)
    await bridge.answer(client, req, target)


def parse_disclose(text: str, user: str) -> Request | None:
    """`linkedin`, `resume edited`, `dating Midjourney` → a DISCLOSE request; None if no
    known context is named."""
    m = catalogue.table("slack.disclose")
    context: str | None = None
    edit_only, tool = False, []
    for word in text.split():
        low = word.lower().strip(".,;:")
        named = context_slug(low) if context is None else None
        if named is not None:
            context = named
        elif low in m["edit_words"]:
            edit_only = True
        else:
            tool.append(word)
    if context is None:
        return None
    return Request(
        Kind.DISCLOSE,
        Platform.SLACK,
        user_id=user,
        context=context,
        tool=" ".join(tool)[:60] or None,
        edit_only=edit_only,
    )


def _disclose_usage() -> Reply:
    m = catalogue.table("slack.disclose")
    places = ", ".join(f"{c} ({context_label(c)})" for c in CONTEXTS)
    return Reply(title=m["title"], summary=m["usage"].format(contexts=places), tone="info")
