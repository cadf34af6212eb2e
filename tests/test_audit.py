"""The audit runner end to end: avatars served over real HTTP, analysed in a real process
pool, results in a real SQLite store; resume, cancel, cache, duplicates and reports."""

from __future__ import annotations

import asyncio
import csv
import io

import aiohttp
import pytest
from aiohttp import web
from PIL import Image, ImageDraw

from bot.audit import AuditRunner, Member
from bot.audit.duplicates import duplicate_groups
from bot.audit.reports import summary_lines, to_csv, to_html
from bot.core.download import fetch
from bot.core.pool import AnalysisPool
from bot.store.sqlite import SQLiteStore


def avatar(seed: int, size: int = 128) -> bytes:
    """A distinct synthetic avatar per seed (shapes, so perceptual hashes differ)."""
    im = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    d = ImageDraw.Draw(im)
    for k in range(4):
        x, y = (seed * (k + 3) * 17) % size, (seed * (k + 5) * 29) % size
        d.ellipse((x - 20, y - 20, x + 20, y + 20), fill=((seed * k * 71) % 256, 40 * k, 200))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


SHARED = avatar(999)


@pytest.fixture
async def cdn():
    """A fake CDN: /a/<n>.png; 'shared' is the same picture for several members."""
    hits = {"count": 0}

    async def serve(request: web.Request) -> web.Response:
        hits["count"] += 1
        name = request.match_info["name"]
        if name == "gone":
            return web.Response(status=404)
        if name == "notimage":
            return web.Response(body=b"<html>nope</html>")
        data = SHARED if name == "shared" else avatar(int(name))
        return web.Response(body=data, content_type="image/png")

    app = web.Application()
    app.add_routes([web.get("/a/{name}.png", serve)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", hits
    await runner.cleanup()


@pytest.fixture(scope="module")
def pool():
    p = AnalysisPool(workers=2, timeout_s=60)
    yield p
    p.close()


def members(host: str, n: int) -> list[Member]:
    out = [Member(str(i), f"member {i}", f"http://{host}/a/{i}.png", f"k{i}") for i in range(n)]
    out += [
        Member(f"s{i}", f"<b>sock {i}</b>", f"http://{host}/a/shared.png", "ks") for i in range(3)
    ]
    out += [
        Member("x1", "=cmd|' /C calc'!A0", f"http://{host}/a/gone.png"),
        Member("x2", "<b>html</b>", f"http://{host}/a/notimage.png"),
        Member("x3", "no avatar", None),
    ]
    return out


async def stream(items: list[Member], delay: float = 0.0):
    for m in items:
        if delay:
            await asyncio.sleep(delay)
        yield m


async def make_runner(tmp_path, pool, host):
    store = await SQLiteStore.open(tmp_path / "audit.sqlite3")
    session = aiohttp.ClientSession()

    async def get(member: Member) -> bytes:
        return await fetch(session, member.avatar_url, allowed_hosts=[host], max_bytes=2_000_000)

    runner = AuditRunner(store, pool, get, concurrency=8, progress_interval_s=0.05)
    return runner, store, session


async def test_audit_reports_groups_errors_and_progress(tmp_path, pool, cdn):
    host, _hits = cdn
    runner, store, session = await make_runner(tmp_path, pool, host)
    try:
        seen = []

        async def progress(p):
            seen.append((p.done, p.total, p.eta_s))

        items = members(host, 40)
        run = await store.create_run("test", "g", "mod", {})
        report = await runner.run(run, stream(items), total=len(items), on_progress=progress)
        assert len(report.rows) == len(items)
        assert report.groups == [["s0", "s1", "s2"]]
        by_id = {r.member_id: r for r in report.rows}
        assert by_id["x1"].label == "error" and "gone" in by_id["x1"].error
        assert by_id["x2"].label == "error"
        assert by_id["x3"].label == "default_avatar"
        assert seen and seen[-1][0] == len(items)

        rows = list(csv.DictReader(io.StringIO(to_csv(report).decode())))
        assert len(rows) == len(items)
        assert {r["duplicate_group"] for r in rows if r["member_id"].startswith("s")} == {"1"}
        injected = next(r for r in rows if r["member_id"] == "x1")
        assert injected["member_name"].startswith("'=")  # no spreadsheet formula
        page = to_html(report, "Audit of g").decode()
        assert "&lt;b&gt;sock 0&lt;/b&gt;" in page and "<b>sock 0</b>" not in page
        assert "data:image/jpeg;base64" in page  # thumbnails of the shared avatar
        assert any("not judgements about people" in line for line in summary_lines(report))
    finally:
        await session.close()
        await store.close()


async def test_reaudit_uses_the_hash_cache(tmp_path, pool, cdn):
    host, _ = cdn
    runner, store, session = await make_runner(tmp_path, pool, host)
    try:
        items = members(host, 20)
        first = await runner.run(await store.create_run("t", "g", "m", {}), stream(items))
        cached = []

        async def progress(p):
            cached.append(p.cached)

        second = await runner.run(
            await store.create_run("t", "g", "m", {}), stream(items), on_progress=progress
        )
        assert [r.label for r in second.rows] == [r.label for r in first.rows]
        # every downloadable image was answered from the cache (3 shared = 1 picture)
        assert cached[-1] == 23
    finally:
        await session.close()
        await store.close()


async def test_cancel_then_resume_after_restart(tmp_path, pool, cdn):
    host, hits = cdn
    runner, store, session = await make_runner(tmp_path, pool, host)
    items = members(host, 30)
    run = await store.create_run("t", "g", "m", {})
    cancel = asyncio.Event()

    async def progress(p):
        if p.done >= 5:
            cancel.set()

    try:
        part = await runner.run(run, stream(items, 0.01), on_progress=progress, cancel=cancel)
        assert part.cancelled and 5 <= len(part.rows) <= 24  # stopped well before the end
    finally:
        await session.close()
        await store.close()
    # "restart": a new store connection and runner; the run is resumed, finished rows kept
    runner, store, session = await make_runner(tmp_path, pool, host)
    try:
        before = hits["count"]
        await store.update_run(run.id, status="running")
        (pending,) = await store.unfinished_runs("t")
        full = await runner.run(pending, stream(items))
        assert not full.cancelled and len(full.rows) == len(items)
        downloaded = hits["count"] - before
        # Only members not finished before the cancel are fetched again (x3 has no avatar;
        # shared avatars already seen are known by their avatar id).
        assert 0 < downloaded <= len(items) - 1 - len(part.rows)
    finally:
        await session.close()
        await store.close()


def test_duplicate_groups_near_and_far():
    base = 0x8F3A_11C0_55AA_0F0F
    hashes = [
        ("a", f"{base:016x}"),
        ("b", f"{base ^ 0b111:016x}"),  # 3 bits away: same picture, re-encoded
        ("c", f"{base ^ 0xFFFF_0000_0000_0000:016x}"),  # 16 bits away: different
        ("d", f"{base ^ 0xFFFF_0000_0000_0000 ^ 1:016x}"),
        ("e", None),
    ]
    assert duplicate_groups(hashes, max_distance=4) == [["a", "b"], ["c", "d"]]


async def test_a_timed_out_avatar_says_it_timed_out(tmp_path, cdn):
    """The pool's "try a smaller copy" is for a person sending a photo; a moderator reading an
    audit is told the avatar timed out and was not checked."""
    host, _ = cdn
    slow = AnalysisPool(workers=1, timeout_s=0.001)
    try:
        store = await SQLiteStore.open(tmp_path / "slow.sqlite3")
        session = aiohttp.ClientSession()

        async def get(member: Member) -> bytes:
            return await fetch(session, member.avatar_url, allowed_hosts=[host], max_bytes=10**6)

        runner = AuditRunner(store, slow, get, concurrency=1)
        try:
            one = [Member("1", "one", f"http://{host}/a/1.png")]
            report = await runner.run(await store.create_run("t", "g", "m", {}), stream(one))
        finally:
            await session.close()
            await store.close()
    finally:
        slow.close()
    [row] = report.rows
    assert row.label == "error" and row.error.startswith("Timed out")
    assert "smaller copy" not in row.error
    assert "Timed out" in to_html(report, "t").decode()
