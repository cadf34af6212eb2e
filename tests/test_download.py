"""Streamed downloads against a real local HTTP server."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bot.core.download import ByteBudget, DownloadError, fetch, host_allowed


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


CDN = ["cdn.discordapp.com", "discordapp.net"]
ALLOWED = [
    "https://cdn.discordapp.com/a.png",
    "https://media.discordapp.net/a",
    "HTTPS://CDN.DiscordApp.com/a?ex=1&is=2",
    "https://cdn.discordapp.com:443/a",
    "https://cdn.discordapp.com/a/../../b",  # the path is the host's business
]
REFUSED = [
    "http://cdn.discordapp.com/a.png",  # https only for real hosts
    "https://evil.com/cdn.discordapp.com",
    "https://cdn.discordapp.com.evil.com/",
    "https://evil.com\\.cdn.discordapp.com/x",
    "https://evil.com\\@cdn.discordapp.com/x",  # urlsplit says cdn…, a browser says evil.com
    "https://cdn.discordapp.com\\@evil.com/x",
    "https://cdn.discordapp.com@evil.com/x",
    "https://user:pw@cdn.discordapp.com/x",  # user info: nothing of ours needs it
    "https://evil.com#@cdn.discordapp.com/x",
    "https://evil.com?@cdn.discordapp.com/x",
    "https://cdn%2Ediscordapp.com/x",
    "https://evil.com%2F.cdn.discordapp.com/x",
    "https://evil.com%5C.cdn.discordapp.com/x",
    "https://cdn.discordapp.com%00.evil.com/x",
    "https://cdn.discordapp.com\n.evil.com/x",
    "https://cdn.discordapp.com./x",
    "https://cdn.discordapp.com:8443/x",
    "https://xn--cdn-discordapp-com/x",
    "https:cdn.discordapp.com/x",
    "//cdn.discordapp.com/x",
    "ftp://cdn.discordapp.com/x",
    "file:///etc/passwd",
    "https://[::1]/x",
    "https://127.0.0.1/x",
    "",
]


@pytest.mark.parametrize("url", ALLOWED)
def test_host_allowed(url: str) -> None:
    assert host_allowed(url, CDN)


@pytest.mark.parametrize("url", REFUSED)
def test_host_refused(url: str) -> None:
    assert not host_allowed(url, CDN)


def test_http_only_for_an_entry_with_a_port() -> None:
    assert host_allowed("http://127.0.0.1:8080/x", ["127.0.0.1:8080"])
    assert not host_allowed("http://127.0.0.1/x", ["127.0.0.1:8080"])
    assert not host_allowed("http://127.0.0.1:8081/x", ["127.0.0.1:8080"])
    assert not host_allowed("http://127.0.0.1:8080/x", ["127.0.0.1"])


@pytest.fixture
async def two_servers():
    """An allowed server and another one; each records the requests it got."""
    seen: dict[str, list[str]] = {"allowed": [], "other": []}
    runners, hosts = [], {}
    for name in seen:

        async def handler(request: web.Request, name: str = name) -> web.Response:
            seen[name].append(request.path_qs)
            return web.Response(body=name.encode())

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        hosts[name] = f"127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield hosts, seen
    for runner in runners:
        await runner.cleanup()


async def test_the_request_goes_where_the_check_said(two_servers) -> None:
    hosts, seen = two_servers
    ok, other = hosts["allowed"], hosts["other"]
    tricks = [
        f"http://{other}\\@{ok}/x",  # urlsplit: the allowed host; yarl: no URL at all
        f"http://{ok}\\@{other}/x",
        f"http://{ok}@{other}/x",
        f"http://{other}#@{ok}/x",
        f"http://{other}?@{ok}/x",
        f"http://{other}/{ok}",
        f"http://x:y@{ok}/x",
    ]
    async with aiohttp.ClientSession() as s:
        for url in tricks:
            with pytest.raises(DownloadError) as err:
                await fetch(s, url, allowed_hosts=[ok], max_bytes=100)
            assert err.value.code == "host_not_allowed", url
        assert seen == {"allowed": [], "other": []}  # refused before anything was sent
        body = await fetch(s, f"http://{ok}/a%2Fb?x=1#frag", allowed_hosts=[ok], max_bytes=100)
    assert body == b"allowed"
    assert seen == {"allowed": ["/a%2Fb?x=1"], "other": []}


async def test_lying_content_length_and_unknown_length_are_capped(server):
    async with aiohttp.ClientSession() as s:
        # Chunked (no Content-Length): the cap still holds while reading.
        with pytest.raises(DownloadError) as err:
            await fetch(s, f"http://{server}/big", allowed_hosts=[server], max_bytes=999_999)
        assert err.value.code == "too_large"
        whole = await fetch(s, f"http://{server}/big", allowed_hosts=[server], max_bytes=10**6)
    assert whole == b"y" * 1_000_000 and type(whole) is bytes


async def test_downloads_wait_for_the_byte_budget(server):
    budget = ByteBudget(1500)  # room for one 1000-byte body at a time
    async with aiohttp.ClientSession() as s:
        async with budget.hold(1000):
            waiting = asyncio.ensure_future(
                fetch(
                    s,
                    f"http://{server}/small",
                    allowed_hosts=[server],
                    max_bytes=5000,
                    budget=budget,
                )
            )
            await asyncio.sleep(0.2)
            assert not waiting.done() and budget.used == 1000
        assert len(await waiting) == 1000
    assert budget.used == 0
