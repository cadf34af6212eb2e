"""SQLite backend: the embedded default, one file under the data directory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.base import Store


class SQLiteStore(Store):
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

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
        await self.db.execute(sql, args)
        await self.db.commit()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.db.executemany(sql, list(rows))
        await self.db.commit()

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self.db.execute(sql, args) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def close(self) -> None:
        await self.db.close()
