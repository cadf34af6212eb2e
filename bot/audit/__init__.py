"""Moderator avatar audits: the platform-neutral runner, duplicate grouping and reports.

Adapters provide an async stream of `Member`s and a `fetch(member) -> bytes` that downloads
from their own CDN; everything else lives here."""

from bot.audit.runner import AuditReport, AuditRunner, Member, Progress

__all__ = ["AuditReport", "AuditRunner", "Member", "Progress"]
