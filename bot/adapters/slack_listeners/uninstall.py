"""The app removed from a workspace (OAuth mode): `app_uninstalled`, or `tokens_revoked` for
the bot's token. That workspace's installation and everything stored about it are deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.adapters.slack_listeners.bridge import Bridge
from bot.core.request import Platform

log = logging.getLogger(__name__)
PLATFORM = Platform.SLACK


def register(app: AsyncApp, bridge: Bridge) -> None:
    @app.event("app_uninstalled")
    async def uninstalled(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack()
        await forget_workspace(app, bridge, context.enterprise_id, context.team_id)

    @app.event("tokens_revoked")
    async def revoked(ack: AsyncAck, event: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if (event.get("tokens") or {}).get("bot"):  # user tokens alone: none are stored
            await forget_workspace(app, bridge, context.enterprise_id, context.team_id)


async def forget_workspace(
    app: AsyncApp, bridge: Bridge, enterprise_id: str | None, team_id: str | None
) -> None:
    if not team_id:
        return
    if bridge.moderation is not None:  # stopped first, so it stores nothing after the deletion
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bridge.moderation.stop(PLATFORM, team_id), 10)
    if bridge.audits is not None:
        await bridge.audits.store.forget_server(PLATFORM, team_id)
    if app.installation_store is not None:  # last: an installation left means work left
        await app.installation_store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
    log.info("removed from workspace %s: its installation and stored data deleted", team_id)
