"""Runs CPU work (decoding, checks, stripping) off the event loop, in worker processes.

The event loop only awaits. A worker that dies (a crash, the memory cap) breaks the pool:
we replace it and answer that one request with an error instead of failing every later one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from bot.analysis.worker import init_worker

log = logging.getLogger(__name__)
T = TypeVar("T")


class PoolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AnalysisPool:
    """A process pool; `inline=True` runs work in the caller (CLI one-offs, where nothing waits)."""

    def __init__(self, workers: int = 0, *, inline: bool = False, timeout_s: float = 30.0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.inline = inline
        self.timeout_s = timeout_s
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=init_worker
            )
        return self._executor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.inline:
            return fn(*args)
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._pool(), fn, *args)
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            raise PoolError(
                "timeout", "Checking this photo took too long, so I stopped. Try a smaller copy."
            ) from None
        except BrokenProcessPool:
            log.error("analysis worker died; replacing the pool")
            self._replace()
            raise PoolError(
                "analysis_failed", "Something went wrong while checking this photo. Try again."
            ) from None

    async def warm_up(self) -> None:
        """Start the workers now rather than on the first photo."""
        if not self.inline:
            await asyncio.gather(*(self.run(os.getpid) for _ in range(self.workers)))

    def _replace(self) -> None:
        old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
