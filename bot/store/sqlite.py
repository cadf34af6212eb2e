"""SQLite backend: the embedded default, one file under the data directory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.base import Store


class SQLiteStore(Store):
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        # One statement (and its commit, or its fetch) at a time: a commit landing between
        # another task's execute and fetchall makes sqlite3 raise "bad parameter or other
        # API misuse" when audit workers read and write concurrently.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SQLiteStore:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA foreign_keys=ON")
        store = cls(db)
        await store.migrate()
        return store

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._lock:
            await self.db.execute(sql, args)
            await self.db.commit()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        async with self._lock:
            await self.db.executemany(sql, rows)
            await self.db.commit()

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self._lock:
            return [tuple(r) for r in await self.db.execute_fetchall(sql, args)]

    async def execute_returning(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self._lock:
            rows = [tuple(r) for r in await self.db.execute_fetchall(sql, args)]
            await self.db.commit()
            return rows

    async def close(self) -> None:
        await self.db.close()
