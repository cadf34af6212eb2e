"""The module Dramatiq's worker loads (`headshot-bot worker` runs it): the broker, the actor,
and each worker process's start-up guards (memory cap, one BLAS thread, warm checks)."""

from __future__ import annotations

from dramatiq import Broker, Middleware

from bot.analysis.pipeline.worker import init_worker
from bot.core.queue import Queue
from bot.settings import get_settings


class WorkerBoot(Middleware):
    def after_process_boot(self, broker: Broker) -> None:
        # Each worker process, before its first job.
        init_worker()


queue = Queue(get_settings())
queue.broker.add_middleware(WorkerBoot())
broker = queue.broker
