"""The analysis pool with real worker processes (forkserver, init_worker and its warm-up):
a job past its time is stopped, a killed worker costs only its own job, close() leaves
nothing behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from bot.core.pool import AnalysisPool, PoolError
from tests.processes import parent_of, still_running


def spin(seconds: float) -> int:
    """CPU work that never yields (like libjpeg on a hostile file)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


async def test_a_job_past_its_time_is_stopped_and_the_next_starts_at_once() -> None:
    pool = AnalysisPool(1, timeout_s=2)
    try:
        await pool.warm_up()
        first = await pool.run(os.getpid)
        slow = asyncio.create_task(pool.run(spin, 120))
        await asyncio.sleep(0.2)
        queued = asyncio.create_task(pool.run(os.getpid))
        with pytest.raises(PoolError) as stopped:
            await asyncio.wait_for(slow, 30)
        timed_out = time.monotonic()
        assert stopped.value.code == "timeout"
        assert "more than 2 seconds, so I stopped it" in stopped.value.message
        assert not await still_running({first}), "the worker running the slow job still runs"
        # The queued job waited for the slow one, not for its own time limit, and runs on a
        # fresh worker as soon as that has started.
        second = await asyncio.wait_for(queued, 60)
        print(f"\nnext job done {time.monotonic() - timed_out:.2f} s after the timeout")
        assert second != first
    finally:
        pool.close()


async def test_a_killed_worker_fails_only_the_job_it_was_running() -> None:
    pool = AnalysisPool(2, timeout_s=60)
    try:
        await pool.warm_up()
        jobs = [asyncio.create_task(pool.run(nap, 0.3)) for _ in range(20)]
        while sum(j.done() for j in jobs) < 4:
            await asyncio.sleep(0.02)
        victim = next(j.result() for j in jobs if j.done())
        os.kill(victim, signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), 120)
        answered = [r for r in results if isinstance(r, int)]
        failed = [r for r in results if not isinstance(r, int)]
        assert len(answered) >= 19, failed
        assert all(isinstance(f, PoolError) and f.code == "analysis_failed" for f in failed), failed
        assert victim not in answered[-8:], "the killed worker was not replaced"
        assert isinstance(await pool.run(os.getpid), int)
    finally:
        pool.close()


async def test_close_stops_running_work_kills_everything_and_can_be_repeated() -> None:
    pool = AnalysisPool(2, timeout_s=60)
    await pool.warm_up()
    pids = set(await asyncio.gather(pool.run(nap, 0.5), pool.run(nap, 0.5)))
    assert len(pids) == 2
    forkserver = {parent_of(p) for p in pids} - {os.getpid()}
    busy = asyncio.create_task(pool.run(spin, 20))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    pool.close()
    pool.close()
    assert time.monotonic() - started < 5
    with pytest.raises(PoolError) as stopped:
        await busy
    assert stopped.value.code == "restarting"
    assert "try again in a minute" in stopped.value.message
    assert await still_running(pids | forkserver) == set()
    with pytest.raises(PoolError):
        await pool.run(os.getpid)


async def test_shutdown_lets_running_work_finish_and_turns_away_the_rest() -> None:
    pool = AnalysisPool(1, timeout_s=60)
    await pool.warm_up()
    running_job = asyncio.create_task(pool.run(nap, 0.5))
    await asyncio.sleep(0.2)
    queued = asyncio.create_task(pool.run(nap, 0.5))
    await asyncio.sleep(0.05)
    await pool.shutdown(grace_s=5)
    assert isinstance(await running_job, int)
    with pytest.raises(PoolError) as turned_away:
        await queued
    assert turned_away.value.code == "restarting"
