"""Analysis on a distributed task queue (Dramatiq on Redis), behind the AnalysisPool seam.

`QueuePool.run(fn, *args)` sends the call as a job; `headshot-bot worker` processes on any
machine run it and the result comes back to the awaiting caller. Jobs are acknowledged only
after they ran (Dramatiq's Redis broker keeps each job a worker took until it acks; a worker
whose heartbeat stops for `queue.requeue_after_s` has its jobs handed to the others), so a
worker that dies mid-job loses nothing. A job is re-run whole: the functions allowed here are
pure functions of the photo's bytes, so a re-run gives the same answer, and the callers'
caches key results by the bytes' SHA-256 anyway.

Jobs and results are signed pickles (bot.core.signed): a worker runs only jobs signed with
QUEUE_SECRET that name one of ALLOWED, and the bot unpickles only results signed the same way.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend
from dramatiq.results.errors import ResultFailure, ResultTimeout

from bot import messages
from bot.core.pool import PoolError
from bot.core.signed import Signer
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# The only functions a worker runs: pure functions of the bytes they are given.
ALLOWED = frozenset(
    {
        "bot.analysis.pipeline.run:analyze",
        "bot.analysis.pipeline.worker:analyze_in_worker",
        "bot.analysis.strip.clean_copy:strip_metadata",
        "bot.audit.avatar:analyze_avatar",
        "bot.audit.avatar:hash_and_thumb",
    }
)
ACTOR = "headshot_analysis"


class QueueConfigError(RuntimeError):
    """The queue backend is chosen but its URL or secret is missing."""


def target_name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"


class Queue:
    """The broker, the result backend and the one actor, as both sides configure them."""

    def __init__(self, settings: Settings) -> None:
        q = settings.queue
        if settings.queue_url is None or settings.queue_secret is None:
            raise QueueConfigError(
                'queue.backend = "redis" needs QUEUE_URL (or REDIS_URL) and QUEUE_SECRET'
            )
        url = settings.queue_url.get_secret_value()
        secret = settings.queue_secret.get_secret_value().encode()
        self.jobs = Signer(secret, q.max_job_bytes)
        self.results = Signer(secret, q.max_result_bytes)
        self.broker = RedisBroker(
            url=url,
            namespace=f"{q.name}-queue",
            heartbeat_timeout=int(q.requeue_after_s * 1000),
            maintenance_chance=q.maintenance_chance,
        )
        # Waiting for a result is one blocking read: the socket must outwait it (redis-py's
        # default read timeout is 5 s).
        waiting = redis.Redis.from_url(url, socket_timeout=q.result_timeout_s + 10)
        self.backend = RedisBackend(client=waiting, namespace=f"{q.name}-results")
        self.broker.add_middleware(
            Results(backend=self.backend, result_ttl=int(q.result_ttl_s * 1000))
        )
        # The decorator form: dramatiq's typed overloads take a function or options, not both.
        self.actor = dramatiq.actor(
            broker=self.broker,
            actor_name=ACTOR,
            queue_name=q.name,
            store_results=True,
            max_retries=0,  # exceptions are deterministic here: a retry would fail the same way
            time_limit=int(settings.limits.analysis_timeout_s * 1000),
        )(self.perform)

    def perform(self, job: str) -> str:
        """The worker side: verify, check the function is allowed, run, sign the result."""
        fn, args = self.jobs.loads(base64.b64decode(job))
        if target_name(fn) not in ALLOWED:
            raise PermissionError(f"refusing to run {target_name(fn)}")
        return base64.b64encode(self.results.dumps(fn(*args))).decode()


def queue_errors() -> dict[str, str]:
    """What a job on the queue that did not come back says (config/messages.toml)."""
    return {code: str(text) for code, text in messages.table("queue_errors").items()}


class QueuePool:
    """AnalysisPool's interface (`run`, `warm_up`, `close`, `timeout_s`) over the queue."""

    inline = False

    def __init__(self, settings: Settings, waiters: int = 64) -> None:
        self.queue = Queue(settings)
        self.timeout_s = settings.queue.result_timeout_s
        # The workers run on other processes and machines; this is how many jobs a batch
        # keeps in flight from here (callers size their windows by it).
        self.workers = max(1, waiters // 8)
        # Waiting for a result blocks a thread (Dramatiq's client is synchronous): one per job
        # in flight, so an audit's downloads never queue behind the default executor's few.
        self._waiters = ThreadPoolExecutor(max_workers=waiters, thread_name_prefix="queue-wait")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        name = target_name(fn)
        if name not in ALLOWED:
            raise ValueError(f"{name} cannot run on the queue (not in bot.core.queue.ALLOWED)")
        try:
            job = self.queue.jobs.dumps((fn, args))
        except ValueError:
            raise PoolError("too_large", queue_errors()["too_large"]) from None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._waiters, self._send_and_wait, job)

    def _send_and_wait(self, job: bytes) -> Any:
        message = self.queue.actor.send(base64.b64encode(job).decode())
        try:
            out = message.get_result(
                backend=self.queue.backend, block=True, timeout=int(self.timeout_s * 1000)
            )
        except ResultTimeout:
            raise PoolError("timeout", queue_errors()["timeout"]) from None
        except redis.RedisError as exc:
            log.error("queue unavailable: %s", type(exc).__name__)
            raise PoolError("analysis_failed", queue_errors()["analysis_failed"]) from None
        except ResultFailure as exc:
            log.error("queued analysis failed: %s", exc.orig_exc_type)
            code = "timeout" if exc.orig_exc_type == "TimeLimitExceeded" else "analysis_failed"
            raise PoolError(code, queue_errors()[code]) from None
        return self.queue.results.loads(base64.b64decode(out))

    async def warm_up(self) -> None:
        """Check the broker answers now rather than on the first photo (workers warm up
        themselves when they start)."""
        await asyncio.to_thread(self.queue.broker.client.ping)

    async def shutdown(self, grace_s: float) -> None:
        """Stopping: jobs already queued still run on the workers (their results expire
        unread); this process stops waiting for them."""
        self.close()

    def close(self) -> None:
        self._waiters.shutdown(wait=False, cancel_futures=True)
        self.queue.broker.close()
