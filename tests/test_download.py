"""Streamed downloads against a real local HTTP server."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.core.download import DownloadError, fetch, host_allowed


@pytest.fixture
async def server():
    app = web.Application()

    async def small(request):
        return web.Response(body=b"x" * 1000)

    async def big(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b"y" * 10_000)
        return resp

    async def auth(request):
        if request.headers.get("Authorization") != "Bearer t0k":
            return web.Response(status=403)
        return web.Response(body=b"ok")

    async def redirect(request):
        raise web.HTTPFound("http://example.invalid/")

    app.add_routes(
        [
            web.get("/small", small),
            web.get("/big", big),
            web.get("/auth", auth),
            web.get("/redirect", redirect),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    await runner.cleanup()


async def test_fetch_small_and_capped(server):
    async with aiohttp.ClientSession() as s:
        ok = await fetch(s, f"http://{server}/small", allowed_hosts=[server], max_bytes=5000)
        assert len(ok) == 1000
        with pytest.raises(DownloadError) as err:
            await fetch(s, f"http://{server}/big", allowed_hosts=[server], max_bytes=50_000)
        assert err.value.code == "too_large"


async def test_fetch_refuses_other_hosts_and_redirects(server):
    async with aiohttp.ClientSession() as s:
        with pytest.raises(DownloadError) as err:
            await fetch(s, "http://127.0.0.2/small", allowed_hosts=[server], max_bytes=10)
        assert err.value.code == "host_not_allowed"
        with pytest.raises(DownloadError) as err:
            await fetch(s, f"http://{server}/redirect", allowed_hosts=[server], max_bytes=10)
        assert err.value.code == "download_failed"


async def test_fetch_bearer_token(server):
    async with aiohttp.ClientSession() as s:
        with pytest.raises(DownloadError) as err:
            await fetch(s, f"http://{server}/auth", allowed_hosts=[server], max_bytes=10)
        assert err.value.code == "file_forbidden"
        got = await fetch(
            s,
            f"http://{server}/auth",
            allowed_hosts=[server],
            max_bytes=10,
            headers={"Authorization": "Bearer t0k"},
        )
        assert got == b"ok"


def test_host_allowed():
    assert host_allowed("https://cdn.discordapp.com/a.png", ["cdn.discordapp.com"])
    assert host_allowed("https://media.discordapp.net/a", ["discordapp.net"])
    assert not host_allowed("https://evil.com/cdn.discordapp.com", ["cdn.discordapp.com"])
    assert not host_allowed("https://cdn.discordapp.com.evil.com/", ["cdn.discordapp.com"])
    assert not host_allowed("file:///etc/passwd", ["cdn.discordapp.com"])
