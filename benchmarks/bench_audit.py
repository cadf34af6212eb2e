"""Audit benchmark: a synthetic server of N members whose 256-px avatars a local CDN serves.

Prints avatars/second for a cold audit, for a re-audit (all cached), and for a baseline
measured in the same run (download + bare Pillow decode, no analysis), with ratios, and the
peak RSS of the bot process and of its workers.

    python benchmarks/bench_audit.py [--members 10000] [--workers 2] [--json]
                                     [--faces | --real-faces]

--faces draws cartoon faces (always available); --real-faces uses real photos from
../shared/data/faces/real (not FFHQ, whose StyleGAN framing chat avatars rarely have), which
is what most members' avatars are, and what the pixel cascade settles most often.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.analysis.vision import encoder
from bot.audit import AuditRunner, Member
from bot.core.download import fetch
from bot.core.pool import AnalysisPool
from bot.store.sqlite import SQLiteStore
from tests.fakes.avatar_cdn import serve_avatars
from tests.make_pixel_samples import drawn_face

REAL_FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "faces" / "real"


def real_avatars(n: int, side: int = 256) -> list[bytes]:
    """Real face photos as square 256-px JPEG q85 avatars (repeated when n exceeds them)."""
    files = sorted(
        f for d in REAL_FACES.iterdir() if d.name != "ffhq_jpeg_q75" for f in d.glob("*.jpg")
    )
    if not files:
        raise SystemExit(f"--real-faces needs {REAL_FACES}")
    out = []
    for path in files[:n]:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        sq = rgb.crop(encoder.frame_box(rgb.size)).resize((side, side))
        buf = io.BytesIO()
        sq.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return [out[i % len(out)] for i in range(n)]


def make_avatars(n_unique: int, side: int = 256, faces: bool = False) -> list[bytes]:
    """Distinct smooth-noise avatars (or drawn faces the detector finds, so the pixel check
    embeds a face), JPEG q85 like a CDN would serve."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n_unique):
        small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)
        if faces:
            im = drawn_face(side, seed=i, bg=tuple(int(v) for v in small[0, 0]))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def decode_only(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        im.getexif()
        return im.size


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_s() -> tuple[int, float]:
    return os.getpid(), time.process_time()


async def workers_cpu_s(pool: AnalysisPool, workers: int) -> float:
    """CPU seconds the pool's workers have used so far (asked of each, as for RSS)."""
    seen = dict(await asyncio.gather(*(pool.run(own_cpu_s) for _ in range(8 * workers))))
    return sum(seen.values())


async def members(host: str, n: int):
    for i in range(n):
        yield Member(str(i), f"member {i}", f"http://{host}/avatars/{i}.jpg", str(i))


async def main(args: argparse.Namespace) -> dict[str, float]:
    print(f"Generating {args.members} avatars…", file=sys.stderr)
    avatars = (
        real_avatars(args.members) if args.real_faces else make_avatars(args.members, args.faces)
    )
    cdn, host = await serve_avatars(avatars)
    pool = AnalysisPool(workers=args.workers, timeout_s=120)
    await pool.warm_up()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))

    async def get(member: Member) -> bytes:
        return await fetch(session, member.avatar_url, allowed_hosts=[host], max_bytes=5_000_000)

    results: dict[str, float] = {}
    try:
        # Baseline: the same downloads and a bare decode in the same pool.
        sem = asyncio.Semaphore(16)

        async def base_one(i: int) -> None:
            async with sem:
                data = await get(Member(str(i), "", f"http://{host}/avatars/{i}.jpg"))
                await pool.run(decode_only, data)

        t = time.perf_counter()
        await asyncio.gather(*(base_one(i) for i in range(args.members)))
        results["baseline_per_s"] = args.members / (time.perf_counter() - t)

        with tempfile.TemporaryDirectory() as tmp:
            store = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
            runner = AuditRunner(store, pool, get, concurrency=16)
            for name in ("cold", "reaudit"):
                run = await store.create_run("bench", "g", "m", {})
                t, cpu, pool_cpu = time.perf_counter(), time.process_time(), 0.0
                if name == "cold":
                    pool_cpu = await workers_cpu_s(pool, args.workers)
                report = await runner.run(run, members(host, args.members), total=args.members)
                wall = time.perf_counter() - t
                results[f"{name}_per_s"] = len(report.rows) / wall
                if name == "cold":  # where the time goes: the workers' analysis, the bot's own
                    pool_cpu = await workers_cpu_s(pool, args.workers) - pool_cpu
                    results["cold_worker_cpu_ms"] = 1000 * pool_cpu / len(report.rows)
                    results["cold_bot_cpu_share"] = (time.process_time() - cpu) / wall
            await store.close()
        results["peak_rss_main_mb"] = own_peak_rss_mb()
        # Workers are forkserver children, invisible to RUSAGE_CHILDREN: ask each of them.
        peaks = await asyncio.gather(*(pool.run(own_peak_rss_mb) for _ in range(8 * args.workers)))
        results["peak_rss_worker_mb"] = max(peaks)
    finally:
        await session.close()
        pool.close()
        await cdn.cleanup()
    return results


def report(r: dict[str, float], n: int, workers: int) -> None:
    print(f"Audit benchmark: {n} members, 256-px JPEG avatars, {workers} workers")
    print(f"  baseline (download + decode)   {r['baseline_per_s']:8.0f} avatars/s")
    print(
        f"  cold audit                     {r['cold_per_s']:8.0f} avatars/s"
        f"   ({r['cold_per_s'] / r['baseline_per_s']:.2f}× baseline; goal ≥ 25/s with the "
        "pixel encoder)"
    )
    print(
        f"    analysis {r['cold_worker_cpu_ms']:.0f} ms of worker CPU per avatar; the bot "
        f"process used {100 * r['cold_bot_cpu_share']:.0f} % of a core"
    )
    print(
        f"  re-audit (all cached)          {r['reaudit_per_s']:8.0f} avatars/s"
        f"   ({r['reaudit_per_s'] / r['cold_per_s']:.1f}× cold; goal ≥ 2000/s)"
    )
    print(
        f"  peak RSS: bot {r['peak_rss_main_mb']:.0f} MB, largest worker "
        f"{r['peak_rss_worker_mb']:.0f} MB (goal ≤ 400 MB)"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--faces", action="store_true", help="drawn faces instead of plain noise")
    ap.add_argument("--real-faces", action="store_true", help="real photos from ../shared")
    a = ap.parse_args()
    random.seed(0)
    res = asyncio.run(main(a))
    print(json.dumps(res, indent=2)) if a.json else report(res, a.members, a.workers)
