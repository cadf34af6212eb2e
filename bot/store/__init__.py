"""Persistence: `open_store(settings)`: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

from bot.settings import Settings
from bot.store.base import AuditRow, AuditRun, Store

__all__ = ["AuditRow", "AuditRun", "Store", "open_store"]


async def open_store(settings: Settings) -> Store:
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    if url.startswith(("postgres://", "postgresql://")):
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(url)
    from bot.store.sqlite import SQLiteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    return await SQLiteStore.open(path or settings.data_dir / "headshot.sqlite3")
