"""Per-user rate limit, shared by every adapter (a sliding one-minute window)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimiter:
    """Each user may spend `per_minute` units a minute: a photo costs 1, other work what its
    caller says (a question costs less)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._spent: dict[str, deque[tuple[float, float]]] = defaultdict(deque)  # (when, cost)

    def take(self, key: str, count: int, cost: float = 1.0) -> tuple[int, float]:
        """Reserve as many of `count` items (each costing `cost`) as fit now.
        Returns (granted, wait): wait is 0 when all were granted, else the seconds until the
        next one would fit."""
        if self.per_minute <= 0 or count <= 0:
            return count, 0.0
        now = self.clock()
        spent = self._spent[key]
        while spent and now - spent[0][0] >= WINDOW_S:
            spent.popleft()
        used = sum(c for _, c in spent)
        granted = min(count, math.floor((self.per_minute - used) / cost + 1e-9))
        granted = max(granted, 0)
        spent.extend([(now, cost)] * granted)
        if granted == count:
            return granted, 0.0
        return granted, self._wait(spent, now, cost)

    def _wait(self, spent: deque[tuple[float, float]], now: float, cost: float) -> float:
        """Until enough of the oldest spending leaves the window for one more item."""
        room = self.per_minute - sum(c for _, c in spent)
        for when, c in spent:
            room += c
            if room + 1e-9 >= cost:
                return max(0.1, WINDOW_S - (now - when))
        return WINDOW_S  # costs more than the whole limit: callers keep cost below it
