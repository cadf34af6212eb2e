"""Pick the guidance passages shown under a check's verdict."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from bot.guidance.models import Passage
from bot.guidance.normalise import sentences

_BARE_REPLY = re.compile(r"^(yes|no)[.!]$", re.IGNORECASE)


def brief(p: Passage, limit: int) -> Passage:
    """The passage's short form, or its text cut at a sentence boundary to fit `limit`
    characters, for showing under a verdict. A bare "Yes." / "No." lead answers a question
    nobody asked there, so it goes."""
    if p.brief and len(p.brief) <= limit:
        return replace(p, text=p.brief)
    parts = sentences(p.text)
    if len(parts) > 1 and _BARE_REPLY.match(parts[0]):
        parts = parts[1:]
    text = parts[0]
    for s in parts[1:]:
        if len(text) + 1 + len(s) > limit:
            break
        text = f"{text} {s}"
    return p if text == p.text else replace(p, text=text)


def passages_for(
    passages: Sequence[Passage], label: str, context: str | None, k: int = 3, limit: int = 0
) -> list[Passage]:
    """The context's own advice first, then passages that lead for this verdict, then those
    written for this context, then by weight (file order breaks ties). With `limit`, each
    passage is trimmed to whole sentences within that many characters."""

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

    chosen = sorted((p for p in passages if fits(p)), key=key, reverse=True)[: max(k, 0)]
    return [brief(p, limit) for p in chosen] if limit else chosen
