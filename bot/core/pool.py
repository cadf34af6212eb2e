"""Runs CPU work (decoding, checks, stripping) off the event loop, in worker processes.

Each worker is a process with a pipe of its own (bot.analysis.pipeline.worker.serve), driven by one
thread here; a job goes to whichever worker is free. Unlike concurrent.futures' pool:

- a job that runs past `timeout_s` (counted from when it starts, not while it waits) is
  stopped: its worker is killed and replaced, so it cannot hold a core for minutes;
- a worker that dies (a crash, the memory cap, kill -9) fails only the job it was running;
  a job it had received but not started goes to the next free worker;
- `close()` kills every worker and, once no pool is left, the forkserver; workers also exit
  by themselves when the bot's process is gone, even after a SIGKILL.

The event loop only awaits: `run()` queues a job and awaits its future.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from bot.analysis.pipeline.worker import serve
from bot.errors import CodedError

log = logging.getLogger(__name__)
T = TypeVar("T")

START_TIMEOUT_S = 120.0  # a worker's set-up (imports, model loading, warm-up) on a busy machine
MAX_TRIES = 3  # a job is offered to this many workers that died before starting it
_OPEN: weakref.WeakSet[AnalysisPool] = weakref.WeakSet()  # pools that may still use the forkserver


class PoolError(CodedError):
    section = "pool"


def pool_error(code: str, **fmt: object) -> PoolError:
    """`timeout`, `analysis_failed` or `restarting`, worded in config/messages.toml [pool]."""
    return PoolError(code, None, **fmt)


class _Lost(Exception):
    """The worker went away; `started`: whether it had begun the job."""

    def __init__(self, started: bool) -> None:
        super().__init__()
        self.started = started


class _Closed(Exception):
    pass


class _Overdue(Exception):  # not TimeoutError: that is an OSError, as pipe errors are
    pass


@dataclass(eq=False)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)
    tries: int = 0


class _Worker:
    """One worker process and this side's ends of its pipes."""

    def __init__(self, ctx: BaseContext, memory_mb: int | None, warm: bool) -> None:
        self.conn, child = ctx.Pipe()
        parent_gone, self._alive = ctx.Pipe(duplex=False)  # kept open here, never written
        # typeshed gives Process only to the concrete contexts (get_context(name) returns one).
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=serve,
            args=(child, parent_gone, memory_mb, warm),
            name="headshot-analysis",
            daemon=True,
        )
        self.process.start()
        child.close()
        parent_gone.close()
        self.ready = False
        self._killed = False
        self._kill_lock = threading.Lock()

    def wait_ready(self) -> None:
        try:
            if not self.conn.poll(START_TIMEOUT_S):
                raise _Lost(started=False)
            self.conn.recv()
        except (EOFError, OSError):
            raise _Lost(started=False) from None
        self.ready = True

    def call(self, job: _Job, timeout_s: float) -> tuple[str, Any]:
        try:
            self.conn.send((job.fn, job.args))
            self.conn.recv()  # ("started", None)
        except (EOFError, OSError):
            raise _Lost(started=False) from None
        try:
            if not self.conn.poll(timeout_s):
                raise _Overdue
            outcome: tuple[str, Any] = self.conn.recv()
            return outcome
        except (EOFError, OSError):
            raise _Lost(started=True) from None

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        """Idempotent and safe from several threads at once (close() and the slot's own
        thread may both get here): closing a pipe twice could close a reused descriptor."""
        with self._kill_lock:
            if self._killed:
                return
            self._killed = True
            with contextlib.suppress(Exception):
                self.process.kill()
                self.process.join(5)
            for end in (self.conn, self._alive):
                end.close()


class AnalysisPool:
    """A process pool; `inline=True` runs work in the caller (CLI one-offs, where nothing waits).

    memory_mb and warm go to each worker's `init_worker` (None: `limits.worker_memory_mb`)."""

    def __init__(
        self,
        workers: int = 0,
        *,
        inline: bool = False,
        timeout_s: float = 30.0,
        memory_mb: int | None = None,
        warm: bool = True,
        start_method: str = "forkserver",
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.inline = inline
        self.timeout_s = timeout_s
        self._memory_mb, self._warm = memory_mb, warm
        if start_method not in multiprocessing.get_all_start_methods():
            start_method = "spawn"  # no forkserver on this platform
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":  # the forkserver warms up once for all workers
            preload = "bot.analysis.pipeline.forkserver_preload"
            self._ctx.set_forkserver_preload(["__main__", preload])
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._slots: list[_Worker | None] = [None] * self.workers
        self._slot_locks = [threading.Lock() for _ in range(self.workers)]
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._running: set[_Job] = set()
        self._draining = self._closed = False

    # -- the seam: everything else only calls these ---------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.inline:
            return fn(*args)
        if self._draining or self._closed:
            raise pool_error("restarting")
        self._start_threads()
        job = _Job(fn, args)
        self._queue.put(job)
        return await asyncio.wrap_future(job.future)

    async def warm_up(self) -> None:
        """Start the workers now rather than on the first photo."""
        if self.inline:
            return
        self._start_threads()
        started = await asyncio.gather(
            *(asyncio.to_thread(self._worker, slot) for slot in range(self.workers)),
            return_exceptions=True,
        )
        failed = [r for r in started if isinstance(r, BaseException)]
        if failed and not self._closed:
            log.error("%d of %d analysis workers did not start", len(failed), self.workers)

    async def shutdown(self, grace_s: float) -> None:
        """Stop taking work: new and queued jobs fail with `restarting` at once, running ones
        get up to grace_s to finish; then close()."""
        self._draining = True
        self._fail_queued()
        deadline = time.monotonic() + grace_s
        while self._running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.close()

    def close(self) -> None:
        """Stop now: jobs still queued or running fail with `restarting`, every worker is
        killed, and the forkserver is stopped once no other pool is open. Idempotent."""
        if self._closed:
            return
        self._closed = True
        _OPEN.discard(self)
        self._fail_queued()
        for _ in self._threads:
            self._queue.put(None)
        for worker in list(self._slots):
            if worker is not None:
                worker.kill()
        for thread in self._threads:
            thread.join(5)
        if not _OPEN:
            _stop_forkserver(self._ctx)

    # -- the threads that drive the workers -----------------------------------------------
    def _start_threads(self) -> None:
        with self._start_lock:
            if self._threads or self._closed:
                return
            _OPEN.add(self)
            for slot in range(self.workers):
                thread = threading.Thread(
                    target=self._drive, args=(slot,), name=f"analysis-pool-{slot}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _drive(self, slot: int) -> None:
        while (job := self._queue.get()) is not None:
            if job.tries or job.future.set_running_or_notify_cancel():
                self._running.add(job)
                try:
                    self._run(slot, job)
                finally:
                    self._running.discard(job)

    def _run(self, slot: int, job: _Job) -> None:
        try:
            tag, value = self._worker(slot).call(job, self.timeout_s)
        except _Closed:
            _settle(job, error=pool_error("restarting"))
        except _Lost as lost:
            self._retire(slot)
            if self._closed:
                _settle(job, error=pool_error("restarting"))
            elif not lost.started and job.tries + 1 < MAX_TRIES:
                job.tries += 1
                self._queue.put(job)  # it never ran: the next free worker takes it
            else:
                log.error("an analysis worker died while running %s", _name(job.fn))
                _settle(job, error=pool_error("analysis_failed"))
        except _Overdue:
            log.warning("%s ran past %g s: its worker was killed", _name(job.fn), self.timeout_s)
            self._retire(slot)
            _settle(job, error=pool_error("timeout", seconds=f"{self.timeout_s:g}"))
            self._replace(slot)
        except BaseException as exc:  # the job could not be sent (it does not pickle)
            _settle(job, error=exc)
        else:
            if tag == "ok":
                _settle(job, result=value)
            else:
                _settle(job, error=value)

    def _worker(self, slot: int) -> _Worker:
        """This slot's worker, started (and set up) first if it has none or it died."""
        with self._slot_locks[slot]:
            worker = self._slots[slot]
            if worker is not None and worker.ready and worker.alive():
                return worker
            if worker is not None:
                worker.kill()
            if self._closed:
                raise _Closed
            worker = self._slots[slot] = _Worker(self._ctx, self._memory_mb, self._warm)
            if self._closed:  # close() ran while it started and did not see it
                worker.kill()
                raise _Closed
            try:
                worker.wait_ready()
            except _Lost:
                worker.kill()
                raise
            return worker

    def _replace(self, slot: int) -> None:
        """Start the slot's next worker now, so it is ready before the next job needs it."""
        with contextlib.suppress(_Lost, _Closed):
            self._worker(slot)

    def _retire(self, slot: int) -> None:
        worker = self._slots[slot]
        if worker is not None:
            worker.kill()

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                _settle(job, error=pool_error("restarting"))


def _settle(job: _Job, result: Any = None, error: BaseException | None = None) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled by its caller meanwhile
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(getattr(fn, "func", fn), "__name__", "a job")


def _stop_forkserver(ctx: BaseContext) -> None:
    """Stop multiprocessing's forkserver (it would otherwise live until this process exits).
    It ends once every process it forked has: give it a moment and never hang on it (one
    still preloading ends by itself when this process exits)."""
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # private, stable since 3.8
    if stop is not None:
        stopper = threading.Thread(target=stop, name="forkserver-stop", daemon=True)
        stopper.start()
        stopper.join(2)
