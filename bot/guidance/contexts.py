"""Where a photo will be used, as people read it: the one place for context names.

Slugs (bot.guidance.CONTEXTS) are for code and commands; `context_label` is how menus and
titles show a context ("Company page"), `context_name` how a sentence says it ("a company team
page"). Both come from config/guidance/disclosure.toml."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.settings import load_toml


@lru_cache(maxsize=1)
def _contexts() -> dict[str, dict[str, Any]]:
    return dict(load_toml("guidance", "disclosure.toml").get("contexts", {}))


def context_label(slug: str | None) -> str:
    """'government-id' -> 'Government ID'; no context -> ''; an unknown slug as given."""
    spec = _contexts().get(slug or "other")
    return str(spec.get("label", slug)) if spec is not None else str(slug)


def context_name(slug: str | None) -> str:
    """'chat-avatar' -> 'a Slack or Discord avatar'; an unknown slug as given."""
    spec = _contexts().get(slug or "other")
    return str(spec.get("name", slug)) if spec is not None else str(slug)
