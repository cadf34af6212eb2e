"""The /headshot-check modal's submission: check the uploaded photos, result by DM."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages as catalogue
from bot.adapters.slack_listeners.bridge import Bridge, Target
from bot.adapters.slack_listeners.files import collect
from bot.core.request import Kind, Platform, Request
from bot.guidance import CONTEXTS
from bot.render.slack import (
    CONTEXT_ACTION,
    CONTEXT_BLOCK,
    MODAL_CALLBACK,
    PHOTO_ACTION,
    PHOTO_BLOCK,
)


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.view_submission(MODAL_CALLBACK)
    async def submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        files, context = read_state(view)
        if not files:
            no_photo = catalogue.text("slack.modal.no_photo")
            await ack(response_action="errors", errors={PHOTO_BLOCK: no_photo})
            return
        await ack()  # closes the modal
        bridge.jobs.spawn(_check(bridge, client, body["user"]["id"], files, context))


def read_state(view: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    values = (view.get("state") or {}).get("values") or {}
    files = list(((values.get(PHOTO_BLOCK) or {}).get(PHOTO_ACTION) or {}).get("files") or [])
    chosen = ((values.get(CONTEXT_BLOCK) or {}).get(CONTEXT_ACTION) or {}).get("selected_option")
    context = (chosen or {}).get("value")
    return files, context if context in CONTEXTS else None


async def _check(
    bridge: Bridge,
    client: AsyncWebClient,
    user: str,
    files: list[dict[str, Any]],
    context: str | None,
) -> None:
    req = Request(Kind.CHECK, Platform.SLACK, user_id=user, context=context)
    files = bridge.admit_files(req, files)
    await collect(bridge, client, req, files)
    await bridge.answer(client, req, Target(user=user))  # no channel: the person's DM
