"""Per-user rate limit, shared by every adapter (a sliding one-minute window)."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, key: str, cost: int = 1) -> float:
        """0 if `key` may go ahead now (and records it), else seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= 60:
            hits.popleft()
        cost = min(cost, self.per_minute)  # more than a minute's worth: callers cap it
        over = len(hits) + cost - self.per_minute
        if over > 0:
            # Until enough of the oldest hits leave the window (not just the oldest one:
            # a 3-photo message waits for 3 slots).
            return max(0.1, 60 - (now - hits[over - 1]))
        hits.extend([now] * cost)
        return 0.0
