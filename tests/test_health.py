"""`headshot-bot health` (the containers' health check): exit 0 only when what the process
depends on answers: Redis when configured, the database, and an HTTP endpoint when named."""

from __future__ import annotations

import os

import pytest
from aiohttp import web

from bot.cli import main
from tests.queue_support import REDIS_URL, redis_or_skip

PG_URL = os.environ.get("HEADSHOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch, tmp_path):
    from bot.settings import get_settings

    for var in ("REDIS_URL", "QUEUE_URL", "DATABASE_URL", "HEADSHOT_STATE__BACKEND"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HEADSHOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def health(*args: str) -> int:
    return main(["health", *args])


def test_the_default_single_process_checks_its_sqlite_folder(capsys, tmp_path):
    assert health() == 0
    assert capsys.readouterr().out.strip() == "healthy: database"
    assert (tmp_path / "data").is_dir()


def test_an_unwritable_sqlite_folder_is_unhealthy(monkeypatch, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("HEADSHOT_DATA_DIR", str(tmp_path / "file" / "data"))
    assert health() == 1
    assert capsys.readouterr().err.startswith("unhealthy: database")


def test_redis_that_does_not_answer_is_unhealthy_and_its_url_is_not_printed(monkeypatch, capsys):
    monkeypatch.setenv("HEADSHOT_STATE__BACKEND", "redis")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    assert health() == 1
    out = capsys.readouterr()
    assert out.err.strip() == "unhealthy: Redis (ConnectionError)"
    assert "hunter2" not in out.err + out.out


async def serve(status: int) -> tuple[web.AppRunner, str]:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"ok": status == 200}, status=status)

    app = web.Application()
    app.router.add_get("/health", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/health"


def test_everything_a_scaled_out_process_uses(monkeypatch, capsys):
    """Redis, PostgreSQL and an HTTP endpoint, all real, on 127.0.0.1."""
    import asyncio
    import threading

    import asyncpg

    redis_or_skip()

    async def pg_answers() -> None:
        await (await asyncpg.connect(PG_URL, timeout=2)).close()

    try:
        asyncio.run(pg_answers())
    except (OSError, asyncpg.PostgresError):
        pytest.skip(f"no PostgreSQL answers at {PG_URL}")
    monkeypatch.setenv("HEADSHOT_QUEUE__BACKEND", "redis")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    (ok, ok_url), (bad, bad_url) = (
        asyncio.run_coroutine_threadsafe(serve(s), loop).result(5) for s in (200, 503)
    )
    try:
        assert health("--url", ok_url) == 0
        assert capsys.readouterr().out.strip() == f"healthy: Redis, database, HTTP {ok_url}"
        assert health("--url", bad_url) == 1
        assert capsys.readouterr().err.strip() == f"unhealthy: HTTP {bad_url} (answered 503)"
    finally:
        for runner in (ok, bad):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
