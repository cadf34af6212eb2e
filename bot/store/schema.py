"""The schema, as numbered migrations shared by SQLite and PostgreSQL.

Written in the SQL both understand; `?` placeholders are translated for asyncpg.
Photos are never stored: only hashes, verdicts, findings and settings."""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS server_settings (
            platform TEXT NOT NULL,
            server_id TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (platform, server_id))""",
        """CREATE TABLE IF NOT EXISTS results (
            sha256 TEXT PRIMARY KEY,
            phash TEXT,
            summary TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS audit_runs (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            server_id TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            status TEXT NOT NULL,
            total INTEGER NOT NULL DEFAULT 0,
            options TEXT NOT NULL DEFAULT '{}',
            created_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION)""",
        """CREATE TABLE IF NOT EXISTS audit_results (
            run_id TEXT NOT NULL REFERENCES audit_runs(id) ON DELETE CASCADE,
            member_id TEXT NOT NULL,
            member_name TEXT NOT NULL,
            sha256 TEXT,
            phash TEXT,
            label TEXT NOT NULL,
            strength TEXT,
            evidence TEXT NOT NULL DEFAULT '',
            error TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_id, member_id))""",
        "CREATE INDEX IF NOT EXISTS audit_results_member ON audit_results (member_id)",
        # A platform's avatar id names one picture: an unchanged avatar needs no download.
        """CREATE TABLE IF NOT EXISTS avatar_keys (
            platform TEXT NOT NULL,
            avatar_key TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (platform, avatar_key))""",
        """CREATE TABLE IF NOT EXISTS member_avatars (
            platform TEXT NOT NULL,
            server_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            phash TEXT,
            label TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (platform, server_id, member_id))""",
    ],
    # The pixel detector's calibrated score, shown in audit reports.
    ["ALTER TABLE audit_results ADD COLUMN score DOUBLE PRECISION"],
]
