"""A local avatar CDN on 127.0.0.1: `/avatars/{i}.jpg` serves the i-th picture. For audits run
against many members (tests and benchmarks)."""

from __future__ import annotations

from aiohttp import web


async def serve_avatars(pictures: list[bytes]) -> tuple[web.AppRunner, str]:
    """Start it; returns the runner (clean it up) and its "127.0.0.1:port"."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=pictures[int(request.match_info["i"])], content_type="image/jpeg")

    app = web.Application()
    app.add_routes([web.get("/avatars/{i}.jpg", handler)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
