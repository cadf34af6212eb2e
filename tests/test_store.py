"""Both storage backends against real servers: SQLite always, PostgreSQL when reachable
(CI sets HEADSHOT_REQUIRE_POSTGRES=1 where a server runs, so there it must not skip)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from bot.store import AuditRow
from bot.store.postgres import PostgresStore, to_dollar
from bot.store.schema import MIGRATIONS
from bot.store.sqlite import SQLiteStore

PG_ADMIN = os.environ.get("HEADSHOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _postgres_store():
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("HEADSHOT_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL server at {PG_ADMIN}: {exc}")
    name = f"hc_test_{uuid.uuid4().hex[:10]}"
    await admin.execute(f"CREATE DATABASE {name}")
    store = await PostgresStore.open(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)

    async def cleanup() -> None:
        await store.close()
        await admin.execute(f"DROP DATABASE {name}")
        await admin.close()

    return store, cleanup


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = await SQLiteStore.open(tmp_path / "t.sqlite3")
        yield s
        await s.close()
    else:
        s, cleanup = await _postgres_store()
        yield s
        await cleanup()


def test_placeholder_translation():
    assert to_dollar("a = ? AND b IN (?, ?)") == "a = $1 AND b IN ($2, $3)"


async def test_migrations_are_idempotent(store):
    await store.migrate()
    rows = await store.fetch("SELECT COUNT(*) FROM schema_version")
    assert rows[0][0] == len(MIGRATIONS)


async def test_pixel_scores_are_stored_with_the_time_checked(store):
    run = await store.create_run("discord", "g1", "mod1", {})
    before = time.time()
    await store.add_results(
        run.id,
        [
            AuditRow("m1", "Ann", "s1", "00", "ai_generated", "moderate", "pixels", score=0.8712),
            AuditRow("m2", "Bob", None, None, "default_avatar", None),
        ],
    )
    ann, bob = await store.run_results(run.id)
    assert (ann.score, bob.score) == (0.8712, None)
    assert before - 1 <= ann.checked_at <= time.time() + 1


async def test_score_migration_upgrades_a_database_made_before_it(store):
    """A store made by the first schema (no score column) gains it, and its rows read back."""
    await store.execute("ALTER TABLE audit_results DROP COLUMN score")
    await store.execute("DELETE FROM schema_version WHERE version > 1")
    run = await store.create_run("slack", "T1", "U1", {})
    await store.execute(
        "INSERT INTO audit_results (run_id, member_id, member_name, label, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        run.id,
        "U2",
        "old row",
        "no_evidence",
        time.time(),
    )
    await store.migrate()
    [old] = await store.run_results(run.id)
    assert (old.member_name, old.score) == ("old row", None)
    await store.add_results(
        run.id, [AuditRow("U3", "new", "s", None, "ai_generated", "weak", score=0.5)]
    )
    assert [r.score for r in await store.run_results(run.id)] == [None, 0.5]


async def test_settings_roundtrip(store):
    assert await store.get_settings("discord", "g1") == {}
    await store.set_settings("discord", "g1", {"watch": True, "modlog": "c9"})
    await store.set_settings("discord", "g1", {"watch": False})
    assert await store.get_settings("discord", "g1") == {"watch": False}


async def test_result_cache(store):
    assert await store.get_result("abc") is None
    await store.put_result("abc", {"label": "no_evidence"}, "ff00")
    await store.put_result("abc", {"label": "changed"}, "ff00")  # first write wins
    assert await store.get_result("abc") == ({"label": "no_evidence"}, "ff00")


async def test_audit_run_lifecycle_and_forget(store):
    run = await store.create_run("discord", "g1", "mod1", {"only_new": False})
    rows = [
        AuditRow("m1", "Ann", "s1", "00", "no_evidence", None),
        AuditRow("m2", "Bob", "s2", "01", "ai_generated", "strong", "parameters chunk"),
    ]
    await store.add_results(run.id, rows)
    await store.add_results(run.id, rows[:1])  # a resumed run re-adding is harmless
    assert await store.done_members(run.id) == {"m1", "m2"}
    assert [r.id for r in await store.unfinished_runs("discord")] == [run.id]
    await store.update_run(run.id, status="done", total=2)
    assert await store.unfinished_runs("discord") == []
    await store.remember_avatar("discord", "g1", "m2", "s2", "01", "ai_generated")
    await store.forget_member("discord", "m2")
    assert [r.member_id for r in await store.run_results(run.id)] == ["m1"]
    assert await store.server_phashes("discord", "g1") == []


async def test_retention_purge(store):
    run = await store.create_run("slack", "T1", "U1", {})
    await store.add_results(run.id, [AuditRow("U2", "x", None, None, "error", None)])
    await store.update_run(run.id, status="done")
    await store.purge_older_than(days=-1)  # everything is "older" than tomorrow
    assert await store.run_results(run.id) == []


async def test_concurrent_reads_and_writes(store):
    """Audit workers read the caches while others write batches of results: no statement may
    trip over another's (SQLite raised "bad parameter or other API misuse" here)."""
    run = await store.create_run("slack", "T1", "U1", {})

    async def writer(i: int) -> None:
        for j in range(10):
            rows = [AuditRow(f"U{i}-{j}-{k}", "x", None, None, "error", None) for k in range(64)]
            await store.add_results(run.id, rows)

    async def reader(i: int) -> None:
        for j in range(10):
            await store.sha_for_avatar_key("slack", f"k{i}-{j}")
            await store.get_result(f"sha{j}")
            await store.done_members(run.id)

    await asyncio.gather(*(writer(i) for i in range(8)), *(reader(i) for i in range(8)))
    assert len(await store.run_results(run.id)) == 8 * 10 * 64


async def _member_traces(store, sha: str, key: str) -> dict[str, int]:
    """How many rows still hold a trace of one avatar, per table."""
    queries = {
        "results": ("SELECT COUNT(*) FROM results WHERE sha256 = ?", sha),
        "avatar_keys": ("SELECT COUNT(*) FROM avatar_keys WHERE avatar_key = ?", key),
        "member_avatars": ("SELECT COUNT(*) FROM member_avatars WHERE sha256 = ?", sha),
        "audit_results": ("SELECT COUNT(*) FROM audit_results WHERE sha256 = ?", sha),
    }
    return {table: (await store.fetch(sql, arg))[0][0] for table, (sql, arg) in queries.items()}


async def _audited(store, member: str, sha: str, key: str, server: str = "g1") -> None:
    """What an audit and watch mode store about one member's avatar."""
    run = await store.create_run("discord", server, "mod1", {})
    await store.add_results(run.id, [AuditRow(member, member, sha, "0f", "ai_generated", "weak")])
    await store.put_result(sha, {"label": "ai_generated"}, "0f")
    await store.put_avatar_key("discord", key, sha)
    await store.remember_avatar("discord", server, member, sha, "0f", "ai_generated")
    await store.update_run(run.id, status="done", total=1)


async def test_forget_deletes_everything_tied_to_the_member(store):
    await _audited(store, "m1", "sha-ann", "key-ann")
    await _audited(store, "m2", "sha-bob", "key-bob")
    await store.forget_member("discord", "m1")
    assert await _member_traces(store, "sha-ann", "key-ann") == dict.fromkeys(
        ("results", "avatar_keys", "member_avatars", "audit_results"), 0
    )
    assert await store.sha_for_avatar_key("discord", "key-ann") is None
    # Someone else's records stay.
    assert set((await _member_traces(store, "sha-bob", "key-bob")).values()) == {1}


async def test_forget_in_one_server_deletes_that_servers_avatar_traces(store):
    await _audited(store, "m1", "sha-here", "key-here", server="g1")
    await _audited(store, "m1", "sha-there", "key-there", server="g2")
    await store.forget_member("discord", "m1", "g1")
    assert set((await _member_traces(store, "sha-here", "key-here")).values()) == {0}
    assert set((await _member_traces(store, "sha-there", "key-there")).values()) == {1}


async def test_retention_purges_avatar_keys_with_their_results(store):
    await _audited(store, "m1", "sha-old", "key-old")
    await store.purge_older_than(days=-1)
    assert await store.sha_for_avatar_key("discord", "key-old") is None
    assert set((await _member_traces(store, "sha-old", "key-old")).values()) == {0}
