"""Duplicate deliveries are processed once.

Slack redelivers an event it thinks we missed (HTTP mode: `X-Slack-Retry-Num`; Socket Mode:
`retry_attempt`), and Socket Mode may deliver one event to more than one connection. Every
delivery of an event carries the same `event_id`, so the first one wins and later ones are
acknowledged and dropped. Which ids were seen is shared state (bot/core/state.py): in Redis,
when configured, so a redelivery to another process behind the load balancer is dropped too."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.core.state import SeenEvents

log = logging.getLogger(__name__)


def register(app: AsyncApp, seen: SeenEvents) -> None:
    @app.middleware
    async def drop_duplicate_events(
        body: dict[str, Any], next_: Callable[[], Awaitable[Any]]
    ) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not seen.first_time(str(event_id)):
            log.info("dropping a duplicate delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return await next_()
