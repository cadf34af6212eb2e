"""Duplicate deliveries are processed once.

Slack redelivers an event it thinks we missed (HTTP mode: `X-Slack-Retry-Num`; Socket Mode:
`retry_attempt`), and Socket Mode may deliver one event to more than one connection. Every
delivery of an event carries the same `event_id`, so the first one wins and later ones are
acknowledged and dropped. (Across several processes this memory would have to be shared.)"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class SeenEvents:
    def __init__(
        self,
        ttl_s: float = 900,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is offered within the TTL (and remembers it)."""
        now = self.clock()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now + self.ttl_s
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True


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
