"""Stopping a long-running adapter cleanly on SIGTERM or SIGINT (docker stop, systemd, a
Heroku restart, Ctrl-C): stop taking events, let photos being checked finish or answer them
"the bot is restarting", shut the pool down (workers and forkserver), exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from typing import Any


def stop_event() -> asyncio.Event:
    """An event that SIGTERM and SIGINT set (instead of killing the process mid-request)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, non-main thread
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_until(stop: asyncio.Event, work: Awaitable[Any]) -> asyncio.Future[Any] | None:
    """Run `work` until it ends (its exception is raised here) or `stop` is set. Returns
    None when the work ended by itself, else the still-running work, for the caller to wind
    down and await."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopped.cancel()
        task.result()
        return None
    return task


async def wait_for_tasks(prefixes: tuple[str, ...], timeout_s: float) -> None:
    """Wait up to timeout_s for the running tasks whose names start with one of `prefixes`
    (a library's event handlers) to end."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me and t.get_name().startswith(prefixes)]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s)
