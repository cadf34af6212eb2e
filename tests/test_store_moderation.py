"""The store queries the Discord moderator features added, on both backends (the `store`
fixture of tests/test_store.py: SQLite always, PostgreSQL when a server is reachable)."""

from __future__ import annotations

import time

from bot.store import AuditRow
from tests.test_store import store  # noqa: F401  (the two-backend fixture)


async def test_last_finished_audit(store):  # noqa: F811
    assert await store.last_finished_audit("discord", "g") is None
    first = await store.create_run("discord", "g", "mod", {})
    running = await store.create_run("discord", "g", "mod", {})
    await store.create_run("discord", "other", "mod", {})
    await store.update_run(first.id, status="done")
    assert running.created_at >= first.created_at
    assert await store.last_finished_audit("discord", "g") == first.created_at  # not running


async def test_member_avatar_sha(store):  # noqa: F811
    assert await store.member_avatar_sha("discord", "g", "m1") is None
    await store.remember_avatar("discord", "g", "m1", "a" * 64, "ff00", "no_evidence")
    await store.remember_avatar("discord", "g2", "m1", "b" * 64, None, "no_evidence")
    assert await store.member_avatar_sha("discord", "g", "m1") == "a" * 64
    assert await store.member_avatar_sha("discord", "g2", "m1") == "b" * 64


async def test_purge_one_server(store):  # noqa: F811
    row = AuditRow("m1", "Ann", "a" * 64, None, "no_evidence", None)
    runs = {}
    for server in ("g", "other"):
        runs[server] = await store.create_run("discord", server, "mod", {})
        await store.add_results(runs[server].id, [row])
        await store.update_run(runs[server].id, status="done")
        await store.remember_avatar("discord", server, "m1", "a" * 64, None, "no_evidence")
    old = time.time() - 10 * 86400
    await store.execute("UPDATE audit_runs SET created_at = ?", old)
    await store.execute("UPDATE audit_results SET created_at = ?", old)
    await store.execute("UPDATE member_avatars SET updated_at = ?", old)
    await store.purge_server_older_than("discord", "g", 7)
    assert await store.run_results(runs["g"].id) == []
    assert await store.member_avatar_sha("discord", "g", "m1") is None
    # Another server keeps its data (its own retention applies to it).
    assert len(await store.run_results(runs["other"].id)) == 1
    assert await store.member_avatar_sha("discord", "other", "m1") == "a" * 64
    await store.purge_server_older_than("discord", "other", 30)
    assert len(await store.run_results(runs["other"].id)) == 1
