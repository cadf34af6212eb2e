"""What a photo that runs past its time costs everyone else, in the real pool.

    python benchmarks/bench_pool.py [--workers 2] [--timeout 3]

Baseline: a 1024² JPEG checked on an idle, warm pool. Then as many hostile photos as there
are workers (a progressive JPEG of 100,000 empty scans, let through intake's scan limit for
this run: minutes of libjpeg each) with the same JPEG queued right behind them. Prints how
long after the timeouts the queued photo was done, and its latency against the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Before the pool's forkserver starts: its workers read these limits.
os.environ["HEADSHOT_LIMITS__MAX_JPEG_SCANS"] = "1000000"
os.environ["HEADSHOT_LIMITS__MAX_CHUNKS"] = "1000000"

from bot.analysis.pipeline.run import analyze  # noqa: E402
from bot.core.pool import AnalysisPool, PoolError  # noqa: E402
from tests.conftest import jpeg_bytes  # noqa: E402
from tests.hostile_cases import jpeg_100k_empty_scans  # noqa: E402


async def check(pool: AnalysisPool, data: bytes) -> float:
    started = time.perf_counter()
    report = await pool.run(partial(analyze, annotate=False), data, "photo.jpg")
    assert report.ok, report.error
    return time.perf_counter() - started


async def main(workers: int, timeout_s: float) -> None:
    photo, hostile = jpeg_bytes((1024, 1024), quality=90), jpeg_100k_empty_scans()
    pool = AnalysisPool(workers, timeout_s=timeout_s)
    try:
        t0 = time.perf_counter()
        await pool.warm_up()
        print(f"pool of {workers} started in {time.perf_counter() - t0:.2f} s")
        baseline = statistics.median([await check(pool, photo + bytes([i])) for i in range(5)])
        attack = partial(pool.run, analyze, hostile, "evil.jpg")
        attacks = [asyncio.create_task(attack()) for _ in range(workers)]
        await asyncio.sleep(0.2)
        queued = asyncio.create_task(check(pool, photo + b"queued"))
        for attack in attacks:
            try:
                await attack
                print("a hostile photo finished within the timeout (raise its scans)")
            except PoolError as exc:
                assert exc.code == "timeout", exc.code
        timed_out = time.perf_counter()
        latency = await queued
        after = time.perf_counter() - timed_out
        print(f"idle photo (baseline):            {baseline * 1000:8.0f} ms")
        print(f"queued behind {workers} timeouts of {timeout_s:g} s: {latency * 1000:8.0f} ms")
        print(f"  done after the timeouts:        {after * 1000:8.0f} ms "
              f"({after / baseline:.1f}x the baseline)")  # fmt: skip
    finally:
        pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.workers, args.timeout))
