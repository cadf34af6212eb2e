"""The distributed queue (Dramatiq on the real Redis): signed jobs and results, the pool's
interface, and an audit that survives a worker killed with SIGKILL mid-way."""

from __future__ import annotations

import asyncio
import base64
import pickle
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import dramatiq
import pytest

from bot import messages
from bot.analysis.pipeline.run import analyze
from bot.audit import AuditRunner, Member
from bot.audit.avatar import analyze_avatar
from bot.core.download import fetch
from bot.core.pool import AnalysisPool, PoolError
from bot.core.scale import make_pool
from bot.core.signed import SignatureError, Signer
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from tests.conftest import ROOT, jpeg_bytes, png_bytes
from tests.fakes.avatar_cdn import serve_avatars
from tests.queue_support import (
    avatars,
    kill_group,
    queue_env,
    redis_or_skip,
    start_worker,
)


def test_signer_refuses_forged_altered_and_oversized_blobs():
    signer = Signer(b"k" * 32, max_bytes=1000)
    assert signer.loads(signer.dumps({"a": b"x"})) == {"a": b"x"}
    forged = Signer(b"o" * 32, max_bytes=1000).dumps({"a": b"x"})
    with pytest.raises(SignatureError):
        signer.loads(forged)
    blob = bytearray(signer.dumps("hello"))
    blob[-1] ^= 1
    with pytest.raises(SignatureError):
        signer.loads(bytes(blob))
    with pytest.raises(SignatureError):
        signer.dumps(b"x" * 2000)
    with pytest.raises(ValueError):
        Signer(b"short", 10)


def test_default_stays_in_process_without_any_broker():
    pool = make_pool(Settings(_env_file=None))
    assert isinstance(pool, AnalysisPool)


@pytest.fixture
def queue_settings(monkeypatch):
    redis_or_skip()
    queue_env(monkeypatch)
    return Settings(_env_file=None)


@pytest.fixture
def thread_worker(queue_settings):
    """The pool, and a Dramatiq worker in this process (threads) on the same queue."""
    pool = make_pool(queue_settings)
    worker = dramatiq.Worker(pool.queue.broker, worker_threads=1)
    worker.start()
    yield pool
    worker.stop()
    pool.close()


async def test_queued_analysis_comes_back_as_the_in_process_one(thread_worker):
    data = (ROOT / "samples" / "a1111-parameters.png").read_bytes()
    report = await thread_worker.run(analyze, data, "a.png")
    local = analyze(data, "a.png")
    assert report.verdict.label == local.verdict.label
    assert report.verdict.label.value == "ai_generated"
    assert report.sha256 == local.sha256
    avatar = await thread_worker.run(analyze_avatar, jpeg_bytes((128, 128)), "1.img", None)
    assert avatar.error is None and avatar.label == "no_evidence"


async def test_only_allowed_functions_run_and_only_when_signed(thread_worker):
    with pytest.raises(ValueError, match="cannot run on the queue"):
        await thread_worker.run(print, "hi")
    queue = thread_worker.queue
    signed_but_not_allowed = base64.b64encode(queue.jobs.dumps((print, ("hi",)))).decode()
    with pytest.raises(PermissionError):
        queue.perform(signed_but_not_allowed)
    unsigned = base64.b64encode(b"\0" * 32 + pickle.dumps((analyze, (b"x", "f")))).decode()
    with pytest.raises(SignatureError):
        queue.perform(unsigned)


async def test_a_photo_over_the_job_limit_is_refused_before_sending(monkeypatch):
    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_QUEUE__MAX_JOB_BYTES="10000")
    pool = make_pool(Settings(_env_file=None))
    try:
        with pytest.raises(PoolError) as err:
            await pool.run(analyze, b"\xff" * 20_000, "big.jpg")
        assert err.value.code == "too_large"
    finally:
        pool.close()


async def test_no_worker_means_a_timeout_not_a_hang(monkeypatch):
    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_QUEUE__RESULT_TIMEOUT_S="0.5")
    pool = make_pool(Settings(_env_file=None))
    try:
        with pytest.raises(PoolError) as err:
            await pool.run(analyze, png_bytes(), "a.png")
        assert err.value.code == "timeout"
    finally:
        pool.close()


async def test_shutdown_answers_photos_in_flight_restarting_as_the_local_pool_does(monkeypatch):
    """No worker serves the queue: a photo in flight gets "restarting" once the grace is
    over (not a two-minute timeout), a new one at once, and the waiting threads end."""
    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_QUEUE__RESULT_TIMEOUT_S="60")
    pool = make_pool(Settings(_env_file=None))
    in_flight = asyncio.create_task(pool.run(analyze, png_bytes(), "a.png"))
    await asyncio.sleep(0.3)
    t = time.monotonic()
    await pool.shutdown(grace_s=0.5)
    with pytest.raises(PoolError) as err:
        await in_flight
    assert err.value.code == "restarting"
    assert err.value.message == messages.text("pool.restarting")
    assert time.monotonic() - t < 2
    with pytest.raises(PoolError) as err:
        await pool.run(analyze, png_bytes(), "b.png")
    assert err.value.code == "restarting"
    deadline = time.monotonic() + 5
    while waiting_threads() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not waiting_threads(), "a thread still waits for a result nobody wants"


async def test_shutdown_lets_a_photo_finish_within_the_grace(thread_worker):
    data = (ROOT / "samples" / "a1111-parameters.png").read_bytes()
    in_flight = asyncio.create_task(thread_worker.run(analyze, data, "a.png"))
    await asyncio.sleep(0.05)
    await thread_worker.shutdown(grace_s=60)
    assert (await in_flight).verdict.label.value == "ai_generated"


async def test_a_caller_cancelled_is_cancelled_and_its_thread_stops_waiting(monkeypatch):
    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_QUEUE__RESULT_TIMEOUT_S="60")
    pool = make_pool(Settings(_env_file=None))  # no worker: the result never comes
    try:
        in_flight = asyncio.create_task(pool.run(analyze, png_bytes(), "a.png"))
        await asyncio.sleep(0.3)
        in_flight.cancel()
        with pytest.raises(asyncio.CancelledError):
            await in_flight
        assert pool.threads_waiting == 1
        deadline = time.monotonic() + 5
        while pool.threads_waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert pool.threads_waiting == 0, "a thread still waits for a result nobody wants"
    finally:
        pool.close()


def waiting_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("queue-wait")]


@pytest.mark.slow
async def test_audit_survives_a_worker_killed_mid_way(monkeypatch):
    """kill -9 the worker (its main process and its child) while it holds jobs; a second
    worker takes them over and every member is checked exactly once, none in error."""
    client = redis_or_skip()
    env = queue_env(
        monkeypatch,
        HEADSHOT_QUEUE__REQUEUE_AFTER_S="3",
        HEADSHOT_QUEUE__MAINTENANCE_CHANCE="1000000",
        HEADSHOT_QUEUE__RESULT_TIMEOUT_S="90",
    )
    n = 40
    cdn, host = await serve_avatars(avatars(n))
    pool = make_pool(Settings(_env_file=None))
    first, second = start_worker(), None
    session = aiohttp.ClientSession()
    done = 0

    async def on_progress(progress) -> None:
        nonlocal done
        done = progress.done

    async def get(member: Member) -> bytes:
        return await fetch(session, member.avatar_url, allowed_hosts=[host], max_bytes=1_000_000)

    async def members():
        for i in range(n):
            yield Member(str(i), f"member {i}", f"http://{host}/avatars/{i}.jpg", str(i))

    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = await SQLiteStore.open(Path(tmp) / "a.sqlite3")
            runner = AuditRunner(store, pool, get, concurrency=8, progress_interval_s=0.1)
            run = await store.create_run("test", "g", "m", {})
            audit = asyncio.create_task(
                runner.run(run, members(), total=n, on_progress=on_progress)
            )
            # Kill it the moment it is seen holding jobs after its first results: waiting for
            # a fixed count let a fast worker finish everything first (held 0, seen once).
            held, deadline = 0, time.monotonic() + 120
            while not audit.done() and time.monotonic() < deadline:
                acks = client.keys(f"{env['HEADSHOT_QUEUE__NAME']}-queue:__acks__.*")
                held = sum(client.scard(k) for k in acks)
                if done >= 1 and held > 0:
                    break
                await asyncio.sleep(0.02)
            assert done >= 1, "the first worker never got going"
            kill_group(first)
            assert held > 0, "the killed worker held no jobs: the test proved nothing"
            second = start_worker()
            report = await asyncio.wait_for(audit, 150)
            rows = await store.run_results(run.id)
            await store.close()
        assert len(report.rows) == n
        assert sorted(int(r.member_id) for r in rows) == list(range(n))
        assert [r for r in rows if r.label == "error"] == []
    finally:
        for proc in (first, second):
            if proc is not None:
                kill_group(proc)
        await session.close()
        pool.close()
        await cdn.cleanup()
        for key in client.keys(f"{env['HEADSHOT_QUEUE__NAME']}*"):
            client.delete(key)
