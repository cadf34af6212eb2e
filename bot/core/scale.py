"""One place that chooses, from config, where analysis runs: in this process (the default, no
servers) or on a Redis queue served by `headshot-bot worker` processes on any machine."""

from __future__ import annotations

import os
import sys
from typing import Any

from bot.core.pool import AnalysisPool
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


def run_worker(settings: Settings, processes: int = 0) -> int:
    """`headshot-bot worker`: Dramatiq's worker on our queue, one thread per process (the
    processes are the parallelism; each is capped and warmed like the in-process pool's)."""
    from dramatiq.cli import main, make_argument_parser

    from bot.analysis.pipeline.worker import THREAD_VARS
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
