"""One small storage interface with two backends (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.schema import MIGRATIONS


@dataclass(frozen=True)
class AuditRow:
    member_id: str
    member_name: str
    sha256: str | None
    phash: str | None
    label: str
    strength: str | None
    evidence: str = ""
    error: str | None = None
    score: float | None = None  # the pixel detector's calibrated 0-1 score, when it ran
    checked_at: float = 0.0  # when stored (set by the store, not by the caller)


@dataclass(frozen=True)
class AuditRun:
    id: str
    platform: str
    server_id: str
    requested_by: str
    status: str  # running | done | cancelled | failed
    total: int
    options: dict[str, Any]
    created_at: float


class Store(ABC):
    """SQL shared by both backends; subclasses provide execute/fetch and transactions."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> None: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def execute_returning(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """A change with RETURNING: its rows, and the change committed."""

    @abstractmethod
    async def close(self) -> None: ...

    async def migrate(self) -> None:
        await self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        rows = await self.fetch("SELECT MAX(version) FROM schema_version")
        current = rows[0][0] or 0
        for version, statements in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            for sql in statements:
                await self.execute(sql)
            await self.execute("INSERT INTO schema_version (version) VALUES (?)", version)

    # -- server settings -------------------------------------------------------------------
    async def get_settings(self, platform: str, server_id: str) -> dict[str, Any]:
        rows = await self.fetch(
            "SELECT data FROM server_settings WHERE platform = ? AND server_id = ?",
            platform,
            server_id,
        )
        return json.loads(rows[0][0]) if rows else {}

    async def set_settings(self, platform: str, server_id: str, data: dict[str, Any]) -> None:
        await self.execute(
            "INSERT INTO server_settings (platform, server_id, data, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (platform, server_id) "
            "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            platform,
            server_id,
            json.dumps(data),
            time.time(),
        )

    # -- result cache, by content hash -----------------------------------------------------
    async def get_result(self, sha256: str) -> tuple[dict[str, Any], str | None] | None:
        rows = await self.fetch("SELECT summary, phash FROM results WHERE sha256 = ?", sha256)
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    async def put_result(self, sha256: str, summary: dict[str, Any], phash: str | None) -> None:
        await self.execute(
            "INSERT INTO results (sha256, phash, summary, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (sha256) DO NOTHING",
            sha256,
            phash,
            json.dumps(summary),
            time.time(),
        )

    async def sha_for_avatar_key(self, platform: str, avatar_key: str) -> str | None:
        rows = await self.fetch(
            "SELECT sha256 FROM avatar_keys WHERE platform = ? AND avatar_key = ?",
            platform,
            avatar_key,
        )
        return rows[0][0] if rows else None

    async def put_avatar_key(self, platform: str, avatar_key: str, sha256: str) -> None:
        await self.execute(
            "INSERT INTO avatar_keys (platform, avatar_key, sha256) VALUES (?, ?, ?) "
            "ON CONFLICT (platform, avatar_key) DO NOTHING",
            platform,
            avatar_key,
            sha256,
        )

    # -- audits ----------------------------------------------------------------------------
    async def create_run(
        self, platform: str, server_id: str, requested_by: str, options: dict[str, Any]
    ) -> AuditRun:
        run = AuditRun(
            uuid.uuid4().hex, platform, server_id, requested_by, "running", 0, options, time.time()
        )
        await self.execute(
            "INSERT INTO audit_runs (id, platform, server_id, requested_by, status, total, "
            "options, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            run.id,
            platform,
            server_id,
            requested_by,
            run.status,
            0,
            json.dumps(options),
            run.created_at,
        )
        return run

    async def update_run(
        self, run_id: str, *, status: str | None = None, total: int | None = None
    ) -> None:
        if total is not None:
            await self.execute("UPDATE audit_runs SET total = ? WHERE id = ?", total, run_id)
        if status is not None:
            finished = None if status == "running" else time.time()
            await self.execute(
                "UPDATE audit_runs SET status = ?, finished_at = ? WHERE id = ?",
                status,
                finished,
                run_id,
            )

    async def unfinished_runs(self, platform: str) -> list[AuditRun]:
        rows = await self.fetch(
            "SELECT id, platform, server_id, requested_by, status, total, options, created_at "
            "FROM audit_runs WHERE platform = ? AND status = 'running' ORDER BY created_at",
            platform,
        )
        return [AuditRun(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in rows]

    async def last_finished_audit(self, platform: str, server_id: str) -> float | None:
        """When the last completed audit of a server started (for "only new members")."""
        rows = await self.fetch(
            "SELECT MAX(created_at) FROM audit_runs WHERE platform = ? AND server_id = ? "
            "AND status = 'done'",
            platform,
            server_id,
        )
        return rows[0][0] if rows else None

    async def add_results(self, run_id: str, rows: Sequence[AuditRow]) -> None:
        now = time.time()
        await self.executemany(
            "INSERT INTO audit_results (run_id, member_id, member_name, sha256, phash, label, "
            "strength, evidence, error, score, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, member_id) DO NOTHING",
            [
                (
                    run_id,
                    r.member_id,
                    r.member_name,
                    r.sha256,
                    r.phash,
                    r.label,
                    r.strength,
                    r.evidence,
                    r.error,
                    r.score,
                    now,
                )
                for r in rows
            ],
        )

    async def run_results(self, run_id: str) -> list[AuditRow]:
        rows = await self.fetch(
            "SELECT member_id, member_name, sha256, phash, label, strength, evidence, error, "
            "score, created_at FROM audit_results WHERE run_id = ? ORDER BY member_id",
            run_id,
        )
        return [AuditRow(*r) for r in rows]

    async def done_members(self, run_id: str) -> set[str]:
        rows = await self.fetch("SELECT member_id FROM audit_results WHERE run_id = ?", run_id)
        return {r[0] for r in rows}

    # -- watch mode: last known avatar per member -----------------------------------------
    async def remember_avatar(
        self,
        platform: str,
        server_id: str,
        member_id: str,
        sha256: str,
        phash: str | None,
        label: str,
    ) -> None:
        await self.execute(
            "INSERT INTO member_avatars (platform, server_id, member_id, sha256, phash, label, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, server_id, member_id) DO UPDATE SET sha256 = excluded.sha256, "
            "phash = excluded.phash, label = excluded.label, updated_at = excluded.updated_at",
            platform,
            server_id,
            member_id,
            sha256,
            phash,
            label,
            time.time(),
        )

    async def server_phashes(self, platform: str, server_id: str) -> list[tuple[str, str]]:
        rows = await self.fetch(
            "SELECT member_id, phash FROM member_avatars WHERE platform = ? AND server_id = ? "
            "AND phash IS NOT NULL",
            platform,
            server_id,
        )
        return [(r[0], r[1]) for r in rows]

    async def member_avatar_sha(self, platform: str, server_id: str, member_id: str) -> str | None:
        """The avatar (content hash) watch mode last saw for a member."""
        rows = await self.fetch(
            "SELECT sha256 FROM member_avatars WHERE platform = ? AND server_id = ? "
            "AND member_id = ?",
            platform,
            server_id,
            member_id,
        )
        return rows[0][0] if rows else None

    # -- Slack installations (OAuth) and the install flow's states --------------------------
    async def save_installation(
        self, client_id: str, enterprise_id: str, team_id: str, data: dict[str, Any]
    ) -> None:
        """Keep a workspace's latest installation (a reinstall replaces the token)."""
        await self.execute(
            "INSERT INTO slack_installations (client_id, enterprise_id, team_id, data, "
            "installed_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (client_id, enterprise_id, team_id) "
            "DO UPDATE SET data = excluded.data, installed_at = excluded.installed_at",
            client_id,
            enterprise_id,
            team_id,
            json.dumps(data),
            time.time(),
        )

    async def find_installation(
        self, client_id: str, enterprise_id: str, team_id: str
    ) -> dict[str, Any] | None:
        rows = await self.fetch(
            "SELECT data FROM slack_installations WHERE client_id = ? AND enterprise_id = ? "
            "AND team_id = ?",
            client_id,
            enterprise_id,
            team_id,
        )
        return json.loads(rows[0][0]) if rows else None

    async def delete_installation(self, client_id: str, enterprise_id: str, team_id: str) -> None:
        await self.execute(
            "DELETE FROM slack_installations WHERE client_id = ? AND enterprise_id = ? "
            "AND team_id = ?",
            client_id,
            enterprise_id,
            team_id,
        )

    async def installed_teams(self, client_id: str) -> list[tuple[str, str]]:
        """(enterprise id, team id) of every installation, oldest first."""
        rows = await self.fetch(
            "SELECT enterprise_id, team_id FROM slack_installations WHERE client_id = ? "
            "ORDER BY installed_at",
            client_id,
        )
        return [(r[0], r[1]) for r in rows]

    async def issue_state(self, state: str, ttl_s: float) -> None:
        now = time.time()
        await self.execute("DELETE FROM slack_oauth_states WHERE expires_at < ?", now)
        await self.execute(
            "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", state, now + ttl_s
        )

    async def consume_state(self, state: str) -> bool:
        """True once for a state issued and not expired: deleted as it is read, so two
        processes can never both accept it."""
        rows = await self.execute_returning(
            "DELETE FROM slack_oauth_states WHERE state = ? RETURNING expires_at", state
        )
        return bool(rows) and rows[0][0] >= time.time()

    # -- privacy ---------------------------------------------------------------------------
    async def forget_server(self, platform: str, server_id: str) -> None:
        """Delete everything stored about one server or workspace (the app was removed):
        its settings, audits and their results, and the avatars watch mode remembered.
        The content-hash cache (`results`) belongs to no server and ages out by retention."""
        await self.execute(
            "DELETE FROM audit_results WHERE run_id IN "
            "(SELECT id FROM audit_runs WHERE platform = ? AND server_id = ?)",
            platform,
            server_id,
        )
        for table in ("audit_runs", "member_avatars", "server_settings"):
            await self.execute(
                f"DELETE FROM {table} WHERE platform = ? AND server_id = ?", platform, server_id
            )

    async def forget_member(
        self, platform: str, member_id: str, server_id: str | None = None
    ) -> None:
        """Delete what we stored about one person (everywhere, or in one server): audit rows,
        watch-mode rows, and the cached verdicts and avatar ids of their pictures."""
        runs = "SELECT id FROM audit_runs WHERE platform = ?" + (
            " AND server_id = ?" if server_id else ""
        )
        scope = (platform, server_id) if server_id else (platform,)
        in_scope = " AND server_id = ?" if server_id else ""
        pictures = await self.fetch(
            f"SELECT sha256 FROM audit_results WHERE member_id = ? AND run_id IN ({runs}) "
            "AND sha256 IS NOT NULL UNION "
            f"SELECT sha256 FROM member_avatars WHERE member_id = ? AND platform = ?{in_scope}",
            member_id,
            *scope,
            member_id,
            *scope,
        )
        await self.execute(
            f"DELETE FROM audit_results WHERE member_id = ? AND run_id IN ({runs})",
            member_id,
            *scope,
        )
        await self.execute(
            f"DELETE FROM member_avatars WHERE member_id = ? AND platform = ?{in_scope}",
            member_id,
            *scope,
        )
        # A shared picture's verdict goes too: it is only a cache, analysed again when needed.
        await self.executemany("DELETE FROM results WHERE sha256 = ?", pictures)
        await self.executemany("DELETE FROM avatar_keys WHERE sha256 = ?", pictures)

    async def purge_server_older_than(self, platform: str, server_id: str, days: float) -> None:
        """A server's own, shorter retention time (set by its moderators)."""
        cutoff = time.time() - days * 86400
        await self.execute(
            "DELETE FROM audit_results WHERE created_at < ? AND run_id IN "
            "(SELECT id FROM audit_runs WHERE platform = ? AND server_id = ?)",
            cutoff,
            platform,
            server_id,
        )
        await self.execute(
            "DELETE FROM audit_runs WHERE platform = ? AND server_id = ? AND created_at < ? "
            "AND status != 'running'",
            platform,
            server_id,
            cutoff,
        )
        await self.execute(
            "DELETE FROM member_avatars WHERE platform = ? AND server_id = ? AND updated_at < ?",
            platform,
            server_id,
            cutoff,
        )

    async def purge_older_than(self, days: float) -> None:
        cutoff = time.time() - days * 86400
        await self.execute("DELETE FROM audit_results WHERE created_at < ?", cutoff)
        await self.execute(
            "DELETE FROM audit_runs WHERE created_at < ? AND status != 'running'", cutoff
        )
        await self.execute("DELETE FROM results WHERE created_at < ?", cutoff)
        # An avatar id only points at a cached verdict: it goes with it.
        await self.execute(
            "DELETE FROM avatar_keys WHERE sha256 NOT IN (SELECT sha256 FROM results)"
        )
        await self.execute("DELETE FROM member_avatars WHERE updated_at < ?", cutoff)
