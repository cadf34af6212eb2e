"""What a moderator sees behind a watch-mode note's Details button: the stored verdict and
evidence for the member's current avatar, and who shares it. Read from the store, so the
button keeps working after a restart (until retention deletes the data)."""

from __future__ import annotations

from bot.audit.duplicates import duplicate_groups
from bot.audit.reports import LABEL_WORDS
from bot.audit.service import AuditService
from bot.core.reply import Reply, Section

CAUTION = "No action was taken. Signals are not proof: review before doing anything."


async def watch_details(
    audits: AuditService, platform: str, server_id: str, member_id: str
) -> Reply:
    known = await audits.store.member_avatar(platform, server_id, member_id)
    if known is None:
        return Reply(
            title="Nothing stored about this member",
            summary="Their results were deleted (retention or a forget request), or never kept.",
            tone="info",
        )
    sha, _phash, label = known
    cached = await audits.store.get_result(sha)
    summary = cached[0] if cached else {"label": label, "strength": None, "evidence": ""}
    found = [f"Verdict: {LABEL_WORDS.get(summary['label'], summary['label'])}"]
    if summary.get("strength"):
        found.append(f"Strength of the evidence: {summary['strength']}")
    if summary.get("evidence"):
        found.append(f"Top evidence: {summary['evidence']}")
    found.append(f"Avatar SHA-256: {sha}")
    sections = [Section("What I found", found)]
    others = await _sharing(audits, platform, server_id, member_id)
    if others:
        sections.append(
            Section(
                "Members with the same or a near-identical avatar",
                others[:20] + ([f"…and {len(others) - 20} more"] if len(others) > 20 else []),
            )
        )
    return Reply(
        title=f"Avatar details: member {member_id}",
        summary=CAUTION,
        tone=label if label in ("ai_generated", "ai_edited") else "info",
        sections=sections,
    )


async def _sharing(
    audits: AuditService, platform: str, server_id: str, member_id: str
) -> list[str]:
    hashes = await audits.store.server_phashes(platform, server_id)
    distance = audits.settings.audit.dup_max_distance
    group = next((g for g in duplicate_groups(hashes, distance) if member_id in g), [])
    return [m for m in group if m != member_id]
