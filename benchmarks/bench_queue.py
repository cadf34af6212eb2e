"""Queue benchmark: a cold audit of N members (256-px avatars from the local CDN) with analysis
on the Redis queue served by 1, 2 and 4 `headshot-bot worker` processes, beside the same run's
in-process pool (the default set-up) as the baseline; then a projection for N machines.

Needs the real Redis (REDIS_URL, default redis://127.0.0.1:6379/0); skips with a message when
none answers. Every audit starts from an empty store, so nothing is cached between them.

    python benchmarks/bench_queue.py [--members 10000] [--workers 1,2,4] [--faces] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_audit import make_avatars, members
from bot.audit import AuditRunner, Member
from bot.core.download import fetch
from bot.core.pool import AnalysisPool
from bot.core.queue import QueuePool
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from tests.fakes.avatar_cdn import serve_avatars
from tests.queue_support import kill_group, start_worker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CONCURRENCY = 16  # the audit's default: downloads and analyses in flight


async def cold_audit(pool, host: str, n: int, session: aiohttp.ClientSession) -> float:
    """Avatars/s of one audit of n members, from an empty store."""

    async def get(member: Member) -> bytes:
        return await fetch(session, member.avatar_url, allowed_hosts=[host], max_bytes=5_000_000)

    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
        runner = AuditRunner(store, pool, get, concurrency=CONCURRENCY)
        run = await store.create_run("bench", "g", "m", {})
        t = time.perf_counter()
        report = await runner.run(run, members(host, n), total=n)
        elapsed = time.perf_counter() - t
        await store.close()
    errors = [r for r in report.rows if r.label == "error"]
    if len(report.rows) != n or errors:
        raise SystemExit(f"audit incomplete: {len(report.rows)} of {n}, {len(errors)} errors")
    return n / elapsed


async def warm_queue(pool: QueuePool, host: str, processes: int, session) -> None:
    """Until every worker process has booted (imports, warm checks) and answered: start-up
    is not what the figure measures."""
    await cold_audit(pool, host, 8 * processes, session)


async def main(args: argparse.Namespace) -> dict[str, float]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        raise SystemExit(f"bench_queue: no Redis answers at {REDIS_URL}; skipped") from None
    print(f"Generating {args.members} avatars…", file=sys.stderr)
    cdn, host = await serve_avatars(make_avatars(args.members, faces=args.faces))
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
    results: dict[str, float] = {"members": args.members, "cores": os.cpu_count() or 1}
    try:
        local = AnalysisPool(workers=args.local_workers, timeout_s=120)
        await local.warm_up()
        print(f"in-process pool, {args.local_workers} workers…", file=sys.stderr)
        results["inprocess_per_s"] = await cold_audit(local, host, args.members, session)
        local.close()
        for k in args.workers:
            results[f"queue_{k}_per_s"] = await queued(k, host, args.members, session, client)
    finally:
        await session.close()
        await cdn.cleanup()
    return results


async def queued(k: int, host: str, n: int, session, client: redis.Redis) -> float:
    name = f"bench-{secrets.token_hex(4)}"
    os.environ.update(
        QUEUE_URL=REDIS_URL,
        QUEUE_SECRET=secrets.token_hex(16),
        HEADSHOT_QUEUE__BACKEND="redis",
        HEADSHOT_QUEUE__NAME=name,
        HEADSHOT_QUEUE__RESULT_TIMEOUT_S="300",
    )
    pool = QueuePool(Settings(_env_file=None))
    worker = start_worker(k)
    try:
        print(f"queue, {k} worker processes: starting…", file=sys.stderr)
        await warm_queue(pool, host, k, session)
        return await cold_audit(pool, host, n, session)
    finally:
        kill_group(worker)
        pool.close()
        for key in client.scan_iter(f"{name}*"):
            client.delete(key)


def report(r: dict[str, float], workers: list[int], local_workers: int, faces: bool) -> None:
    kind = "drawn faces (pixel encoder runs)" if faces else "noise (no face: encoder skipped)"
    n, base = int(r["members"]), r["inprocess_per_s"]
    print(f"Queue benchmark: cold audit of {n} members, 256-px JPEG avatars, {kind}")
    print(f"  machine: {int(r['cores'])} cores; Redis, CDN, bot and workers all on it")
    print(f"  in-process pool, {local_workers} workers (baseline)  {base:8.1f} avatars/s")
    for k in workers:
        rate = r[f"queue_{k}_per_s"]
        one = r[f"queue_{workers[0]}_per_s"]
        print(
            f"  queue, {k} worker process{'es' if k > 1 else '  '}           {rate:8.1f} "
            f"avatars/s   ({rate / base:.2f}× baseline, {rate / one:.2f}× {workers[0]} worker)"
        )
    per_process = r[f"queue_{workers[0]}_per_s"] / workers[0]
    print(
        f"  projection: N machines of C cores, one worker process per core, "
        f"≈ N × C × {per_process:.1f} avatars/s"
    )
    for machines, cores in ((1, 4), (4, 4), (10, 8)):
        projected = machines * cores * per_process
        print(f"    {machines:>2} × {cores} cores ≈ {projected:7.0f} avatars/s", end="")
        print(f"  (100,000 members in {100_000 / projected / 60:5.1f} min)")
    print(
        "  assumes: the 1-worker rate per core holds on every machine (this one has other "
        "loads),\n  each audit's bot process keeps enough in flight (raise [audit] concurrency "
        "past 16\n  for many machines), and neither Redis nor the avatar CDN is the limit."
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    ap.add_argument("--local-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--faces", action="store_true", help="drawn faces instead of plain noise")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = asyncio.run(main(a))
    print(json.dumps(res, indent=2)) if a.json else report(res, a.workers, a.local_workers, a.faces)
