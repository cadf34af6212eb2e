"""Short-lived memory of replies, so buttons ("Details", "Disclosure text", "Strip metadata")
can answer later without keeping photos anywhere else. Entries expire (default 15 minutes,
the life of a Discord interaction token) and are never written to disk."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.core.buttons import button_id, parse_button_id
from bot.core.reply import Reply, message_reply


class ReplyCache:
    def __init__(
        self,
        ttl_s: float = 900,
        max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, Reply]] = OrderedDict()

    def put(self, reply: Reply) -> str:
        token = secrets.token_urlsafe(8)
        self._items[token] = (self.clock() + self.ttl_s, reply)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return token

    def get(self, token: str) -> Reply | None:
        item = self._items.get(token)
        if item is None or item[0] < self.clock():
            self._items.pop(token, None)
            return None
        return item[1]

    def page(self, token: str, name: str) -> Reply:
        """The reply for a button press; an explanation if it expired."""
        reply = self.get(token)
        page = reply.page_reply(name) if reply else None
        return page or message_reply("replies.expired", "warning")


# The button id format lives in bot.core.buttons (both platforms); still importable from here.
__all__ = ["ReplyCache", "button_id", "parse_button_id"]
