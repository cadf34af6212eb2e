"""`headshot-bot health`: exit 0 when what this process depends on answers, for container
health checks (the Dockerfile's HEALTHCHECK, compose.yaml). It checks Redis when the queue or
the shared state uses it, the database (PostgreSQL through DATABASE_URL, else the SQLite file's
folder), and with --url an HTTP endpoint (the Slack app's /health in HTTP mode)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import messages
from bot.settings import Settings

Check = tuple[str, Callable[[], Awaitable[None]]]


def run_health(settings: Settings, url: str | None = None, timeout_s: float = 5.0) -> int:
    """Print one line and return 0 when every check passed, 1 at the first that did not."""
    return asyncio.run(_run(settings, url, timeout_s))


async def _run(settings: Settings, url: str | None, timeout_s: float) -> int:
    checked = []
    for name, check in checks(settings, url, timeout_s):
        try:
            await asyncio.wait_for(check(), timeout_s)
        except Exception as exc:  # the class name only: a connection error may hold a URL
            why = str(exc) if isinstance(exc, HealthError) else type(exc).__name__
            print(messages.text("scale.health.unhealthy", name=name, why=why), file=sys.stderr)
            return 1
        checked.append(name)
    print(messages.text("scale.health.healthy", checked=", ".join(checked) or _nothing()))
    return 0


def _nothing() -> str:
    return messages.text("scale.health.nothing")


class HealthError(Exception):
    """A check's own finding (no secret in it), shown as it is."""


def checks(settings: Settings, url: str | None, timeout_s: float) -> list[Check]:
    """What this process depends on, as configured."""
    out: list[Check] = []
    redis_url = settings.redis_url or settings.queue_url
    uses_redis = "redis" in (settings.queue.backend, settings.state.backend)
    if uses_redis and redis_url is not None:
        secret_url = redis_url.get_secret_value()
        out.append((messages.text("scale.health.redis"), lambda: _redis(secret_url, timeout_s)))
    out.append((messages.text("scale.health.database"), lambda: _database(settings, timeout_s)))
    if url:
        out.append((messages.text("scale.health.http", url=url), lambda: _http(url)))
    return out


async def _redis(url: str, timeout_s: float) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=timeout_s)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _database(settings: Settings, timeout_s: float) -> None:
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    if url.startswith(("postgres://", "postgresql://")):
        import asyncpg

        conn = await asyncpg.connect(url, timeout=timeout_s)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
        return
    # SQLite (one process): the folder the database lives in must be writable.
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    folder = Path(path).parent if path else settings.data_dir
    await asyncio.to_thread(_writable, folder)


def _writable(folder: Path) -> None:
    probe = folder / ".health.sqlite3"
    folder.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(probe).close()
    probe.unlink(missing_ok=True)


async def _http(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if response.status != 200:
            raise HealthError(messages.text("scale.health.bad_status", status=response.status))
