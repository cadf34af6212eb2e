"""Load benchmark: event-loop lag and peak RSS of the bot process under two loads, through the
real Slack adapter (slack-bolt in HTTP mode, signed events) against the local fake Slack, which
runs in a process of its own so that serving the files counts for neither figure.

  (a) N large photos in flight at once: one DM each from N people, each a 12 MP JPEG.
  (b) a flood from one person: 8 DMs of 10 photos each, within a minute.

Beside each figure: the goal (max lag < 50 ms; memory bounded: only the photos the rate limit
admits are downloaded), and a baseline from the same run (an idle loop's lag; RSS at start).

    python benchmarks/bench_load.py [--photos 50] [--megapixels 12] [--workers 0] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import multiprocessing
import os
import resource
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.slack import bridge_of, build_app, web_app
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import Settings, SlackSettings
from tests.fakes.slack_fake import BOT_TOKEN, TEAM_ID, FakeSlack, signed_headers

SECRET = "bench-signing-secret"
LAG_GOAL_MS = 50.0
FLOOD_DMS, FLOOD_PHOTOS = 8, 10


# -- the fake Slack, in its own process ---------------------------------------------------------
def large_photos(n: int, megapixels: float) -> list[bytes]:
    """n distinct camera-sized JPEGs (one picture; a COM segment makes each file unique)."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    size = (width, width * 3 // 4)
    base = Image.radial_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 30).convert("RGB")
    buf = io.BytesIO()
    Image.blend(base, noise, 0.4).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    out = []
    for i in range(n):
        comment = f"photo {i}".encode()
        out.append(
            data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]
        )
    return out


def serve_fake(conn: Connection, photos: int, megapixels: float) -> None:
    async def main() -> None:
        fake = await FakeSlack().start()
        big = [
            fake.add_file(f"big{i}.jpg", d) for i, d in enumerate(large_photos(photos, megapixels))
        ]
        small = large_photos(FLOOD_DMS * FLOOD_PHOTOS, 1.0)
        flood = [fake.add_file(f"flood{i}.jpg", d) for i, d in enumerate(small)]
        conn.send((fake.port, big, flood, len(fake.files[big[0]["id"]].data)))
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            while True:  # send events, or say how many downloads and posts, until told to stop
                ask = await loop.run_in_executor(None, conn.recv)
                if ask == "stop":
                    break
                if isinstance(ask, tuple):  # ("dms", url, [(user, files)]): post them at once
                    driver = Driver(session, ask[1], first=ask[3])
                    await asyncio.gather(*(driver.dm(user, files) for user, files in ask[2]))
                    conn.send("sent")
                else:
                    conn.send(len(fake.messages) if ask == "posts" else len(fake.downloads))
        await fake.stop()

    asyncio.run(main())


# -- measuring ------------------------------------------------------------------------------------
class LagMeter:
    """How late a 10 ms timer fires: the longest the loop was busy with something else."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self.beat = time.monotonic()

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - t0 - 0.01)
            self.beat = time.monotonic()

    def __enter__(self) -> LagMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.beat = float("inf")  # no longer watched

    def max_ms(self) -> float:
        return max(self.lags, default=0.0) * 1000

    def p99_ms(self) -> float:
        ordered = sorted(self.lags)
        return ordered[int(len(ordered) * 0.99)] * 1000 if ordered else 0.0


STALLS: collections.Counter[str] = collections.Counter()
METERS: list[LagMeter] = []


def watch_stalls(meters: list[LagMeter], stall_s: float = 0.04) -> None:
    """Diagnosis (--slow-callbacks): while the loop is stalled, sample what its thread runs."""
    main = threading.main_thread().ident

    def sample() -> None:
        while True:
            time.sleep(0.005)
            if meters and time.monotonic() - meters[-1].beat > stall_s:
                frame = sys._current_frames().get(main)
                stack = traceback.extract_stack(frame)[-6:] if frame else []
                STALLS[
                    "  <  ".join(
                        f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)
                    )
                ] += 1

    threading.Thread(target=sample, daemon=True).start()


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (Linux), else the peak from getrusage."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def cpu_wait_s() -> float:
    """Seconds the loop's thread has spent runnable but waiting for a CPU (Linux schedstat):
    lag the machine's other load causes, not the bot."""
    try:
        with open("/proc/thread-self/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def reset_peak_rss() -> None:
    """Start the next phase's peak from now (Linux: clear_refs 5 resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


# -- driving the bot like Slack does --------------------------------------------------------------
class Driver:
    def __init__(self, session: aiohttp.ClientSession, url: str, first: int = 0) -> None:
        self.session, self.url, self.n = session, url, first

    async def dm(self, user: str, files: list[dict[str, Any]]) -> None:
        self.n += 1
        event = {
            "type": "message",
            "subtype": "file_share",
            "channel": "D" + user.removeprefix("U"),
            "channel_type": "im",
            "user": user,
            "text": "",
            # Each person sends their own photos (Slack names the uploader in the event).
            "files": [{**f, "user": user} for f in files],
            "ts": f"{time.time():.6f}",
        }
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0BENCH",
                "type": "event_callback",
                "event_id": f"Ev0BENCH{self.n:05d}",
                "event_time": int(time.time()),
                "event": event,
            }
        ).encode()
        headers = signed_headers(SECRET, body)
        async with self.session.post(self.url, data=body, headers=headers) as resp:
            assert resp.status == 200, resp.status


def bench_settings(port: int, workers: int) -> Settings:
    base = Settings(
        _env_file=None,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        slack=SlackSettings(
            api_base_url=f"http://127.0.0.1:{port}/api/",
            file_hosts=[f"127.0.0.1:{port}"],
            max_files=FLOOD_PHOTOS,
        ),
    )
    limits = base.limits.model_copy(update={"analysis_timeout_s": 900.0})
    analysis = base.analysis.model_copy(update={"workers": workers})
    return base.model_copy(update={"limits": limits, "analysis": analysis})


async def phase(
    fake: Connection, url: str, bridge: Any, dms: list[tuple[str, list[dict]]], first: int
) -> dict[str, float]:
    """Have the fake's process send `dms` (as Slack would), and wait until all are answered."""
    reset_peak_rss()
    before, waited = rss_mb(), cpu_wait_s()
    started = time.monotonic()
    with LagMeter() as lag:
        METERS.append(lag)
        fake.send(("dms", url, dms, first))
        await asyncio.get_running_loop().run_in_executor(None, fake.recv)
        await asyncio.sleep(0.1)
        await bridge.jobs.drain(timeout_s=3600)
    return {
        "seconds": time.monotonic() - started,
        "max_lag_ms": lag.max_ms(),
        "p99_lag_ms": lag.p99_ms(),
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_wait_s": cpu_wait_s() - waited,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()  # the fake, and the events it sends for us
    server = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(child, args.photos, args.megapixels), daemon=True
    )
    server.start()
    port, big, flood, photo_bytes = parent.recv()
    settings = bench_settings(port, args.workers)
    service = HeadshotService(settings, pool=AnalysisPool(settings.analysis.workers, timeout_s=900))
    app = build_app(settings, service)
    bridge = bridge_of(app)
    runner = web.AppRunner(web_app(app, settings), access_log=None)
    results: dict[str, Any] = {"photo_mb": photo_bytes / 1e6, "photos": args.photos}
    try:
        await service.start()
        if args.loop_nice is not None:  # after the workers started: they keep their priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), args.loop_nice)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
        results["rss_start_mb"] = rss_mb()
        with LagMeter() as idle:
            await asyncio.sleep(5.0)
        results["idle"] = {"max_lag_ms": idle.max_ms(), "p99_lag_ms": idle.p99_ms()}
        many = [(f"U0BENCH{i:04d}", [f]) for i, f in enumerate(big)]
        results["large"] = await phase(parent, url, bridge, many, 0)
        parent.send("count")
        downloads_before = parent.recv()
        mallory = [
            ("U0MALLORY1", flood[i * FLOOD_PHOTOS : (i + 1) * FLOOD_PHOTOS])
            for i in range(FLOOD_DMS)
        ]
        results["flood"] = await phase(parent, url, bridge, mallory, len(many))
        parent.send("count")
        results["flood"]["downloads"] = parent.recv() - downloads_before
        results["flood"]["admitted"] = settings.rate_limit.per_user_per_minute
        parent.send("posts")
        results["posts"] = parent.recv()
    finally:
        await bridge.close()
        await runner.cleanup()
        service.close()
        parent.send("stop")
        server.join(10)
    return results


def report(r: dict[str, Any]) -> None:
    idle, large, flood, start = r["idle"], r["large"], r["flood"], r["rss_start_mb"]
    load = os.getloadavg()[0]
    nice = "" if r["loop_nice"] is None else f"; loop thread at nice {r['loop_nice']}"
    print(
        f"bench_load: Slack adapter (HTTP mode), fake Slack in its own process; load {load:.1f}"
        + nice
    )
    print(
        f"baseline  idle loop: max lag {idle['max_lag_ms']:.1f} ms "
        f"(p99 {idle['p99_lag_ms']:.1f}); RSS at start {start:.0f} MB"
    )
    times_idle = large["max_lag_ms"] / max(idle["max_lag_ms"], 0.1)
    print(
        f"(a) {r['photos']} x {r['photo_mb']:.1f} MB photos at once ({large['seconds']:.0f} s): "
        f"max lag {large['max_lag_ms']:.1f} ms (goal < {LAG_GOAL_MS:.0f}; x{times_idle:.1f} idle;"
        f" p99 {large['p99_lag_ms']:.1f}); peak RSS {large['peak_rss_mb']:.0f} MB "
        f"(x{large['peak_rss_mb'] / start:.2f} start); {r['posts']} replies posted in all; "
        f"the loop's thread waited {large['cpu_wait_s']:.1f} s for a CPU"
    )
    print(
        f"(b) {FLOOD_DMS} DMs x {FLOOD_PHOTOS} photos from one person ({flood['seconds']:.0f} s): "
        f"{flood['downloads']} downloaded (goal: the {flood['admitted']} admitted, not "
        f"{FLOOD_DMS * FLOOD_PHOTOS}); max lag {flood['max_lag_ms']:.1f} ms; "
        f"peak RSS {flood['peak_rss_mb']:.0f} MB (x{flood['peak_rss_mb'] / start:.2f} start)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=0, help="analysis workers; 0: one a core")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--loop-nice",
        type=int,
        default=None,
        help="renice only the loop's thread (Linux; below 0 needs privilege): on a shared, "
        "loaded machine this separates the bot's own stalls from waiting for a CPU",
    )
    parser.add_argument(
        "--slow-callbacks",
        action="store_true",
        help="sample the loop's stack while it stalls",
    )
    args = parser.parse_args()
    if args.slow_callbacks:
        import logging

        logging.basicConfig(level=logging.WARNING)
        watch_stalls(METERS)
    results = asyncio.run(run(args))
    results["loop_nice"] = args.loop_nice
    print(json.dumps(results, indent=2)) if args.json else report(results)
    if STALLS:
        waiting = sum(n for where, n in STALLS.items() if where.startswith("selectors.py"))
        print(
            f"stalls sampled: {sum(STALLS.values()) * 5} ms, of which {waiting * 5} ms with the "
            "loop in select() (waiting for the CPU or the GIL, not running code); the rest:"
        )
        for where, n in STALLS.most_common(12):
            if not where.startswith("selectors.py"):
                print(f"  {n * 5} ms in {where}")


if __name__ == "__main__":
    main()
