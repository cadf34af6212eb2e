"""Pick the guidance passages shown under a check's verdict."""

from __future__ import annotations

from collections.abc import Sequence

from bot.guidance.models import Passage


def passages_for(
    passages: Sequence[Passage], label: str, context: str | None, k: int = 3
) -> list[Passage]:
    """The context's own advice first, then passages that lead for this verdict, then those
    written for this context, then by weight (file order breaks ties)."""

    def fits(p: Passage) -> bool:
        if p.kind in ("help", "scope") or label not in p.labels:
            return False
        if p.kind == "context":
            return p.context == context
        return "*" in p.contexts or context in p.contexts

    def key(p: Passage) -> tuple[bool, bool, bool, int]:
        return (
            p.kind == "context",
            label in p.lead_for,
            context is not None and context in p.contexts,
            p.weight,
        )

    chosen = sorted((p for p in passages if fits(p)), key=key, reverse=True)
    return chosen[: max(k, 0)]
