"""One place that chooses, from config, where analysis runs and where shared state lives:
in this process (the default, no servers) or in Redis with queue workers (docs/deploy.md)."""

from __future__ import annotations

import os
import sys
from typing import Any

from bot.core.pool import AnalysisPool
from bot.core.ratelimit import RateLimiter
from bot.core.sessions import ReplyCache
from bot.settings import Settings


def make_pool(settings: Settings, *, inline: bool = False) -> Any:
    """AnalysisPool, or QueuePool when `queue.backend = "redis"` (same run/warm_up/close).
    inline (CLI one-offs) always stays in this process."""
    backend = settings.queue.backend
    if backend == "redis" and not inline:
        from bot.core.queue import QueuePool

        return QueuePool(settings)
    if backend not in ("inprocess", "redis"):
        raise ValueError(f'queue.backend must be "inprocess" or "redis", not {backend!r}')
    return AnalysisPool(
        settings.analysis.workers, inline=inline, timeout_s=settings.limits.analysis_timeout_s
    )


def _redis_client(settings: Settings):
    import redis

    if settings.redis_url is None:
        raise ValueError('shared.backend = "redis" needs REDIS_URL')
    timeout = settings.shared.socket_timeout_s
    return redis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


def make_rate_limiter(settings: Settings) -> RateLimiter:
    per_minute = settings.rate_limit.per_user_per_minute
    if settings.shared.backend != "redis":
        return RateLimiter(per_minute)
    from bot.core.shared_state import RedisRateLimiter

    return RedisRateLimiter(_redis_client(settings), per_minute, prefix=settings.queue.name)


def make_reply_cache(settings: Settings, ttl_s: float = 900, max_entries: int = 1000) -> ReplyCache:
    if settings.shared.backend != "redis":
        return ReplyCache(ttl_s=ttl_s, max_entries=max_entries)
    from bot.core.shared_state import RedisReplyCache
    from bot.core.signed import Signer

    if settings.queue_secret is None:
        raise ValueError('shared.backend = "redis" needs QUEUE_SECRET to sign cached replies')
    signer = Signer(settings.queue_secret.get_secret_value().encode(), 16_000_000)
    return RedisReplyCache(_redis_client(settings), signer, ttl_s, prefix=settings.queue.name)


def run_worker(settings: Settings, processes: int = 0) -> int:
    """`headshot-bot worker`: Dramatiq's worker on our queue, one thread per process (the
    processes are the parallelism; each is capped and warmed like the in-process pool's)."""
    from dramatiq.cli import main, make_argument_parser

    from bot.analysis.worker import THREAD_VARS
    from bot.core.queue import Queue, QueueConfigError

    try:
        Queue(settings).broker.close()  # fail here, clearly, not in every child
    except QueueConfigError as exc:
        print(f"headshot-bot worker: {exc}", file=sys.stderr)
        return 2
    for var in THREAD_VARS:  # before the children import numpy
        os.environ[var] = "1"
    argv = ["bot.core.queue_worker:broker", "--threads", "1", "--skip-logging"]
    argv += ["--processes", str(processes or os.cpu_count() or 1)]
    return main(make_argument_parser().parse_args(argv)) or 0
