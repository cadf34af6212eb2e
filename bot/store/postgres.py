"""PostgreSQL backend (asyncpg), for several processes sharing state: DATABASE_URL=postgres://…"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from bot.store.base import Store

_PLACEHOLDER = re.compile(r"\?")


def to_dollar(sql: str) -> str:
    """Translate '?' placeholders to asyncpg's $1, $2, …"""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


class PostgresStore(Store):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=5)
        store = cls(pool)
        async with pool.acquire() as conn:
            # One migrator at a time when several workers start together.
            await conn.execute("SELECT pg_advisory_lock(7261)")
            try:
                await store.migrate()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(7261)")
        return store

    async def execute(self, sql: str, *args: Any) -> None:
        await self.pool.execute(to_dollar(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.pool.executemany(to_dollar(sql), list(rows))

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.pool.fetch(to_dollar(sql), *args)]

    async def execute_returning(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return await self.fetch(sql, *args)  # each statement commits on its own

    async def close(self) -> None:
        await self.pool.close()
