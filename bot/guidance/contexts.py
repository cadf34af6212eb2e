"""Where a photo will be used: the one place for contexts, their names and other words for them.

Everything comes from config/guidance/disclosure.toml: each `[contexts.SLUG]` table is a
context. `CONTEXTS` are the slugs (for code, commands and menus, in the file's order);
`context_label` is how menus and titles show a context ("Company page"), `context_name` how a
sentence says it ("a company team page"); `context_slug` reads what people type ("CV")."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.settings import load_toml


@lru_cache(maxsize=1)
def disclosure_templates() -> dict[str, Any]:
    """config/guidance/disclosure.toml, read once: contexts, aliases and disclosure wording."""
    return load_toml("guidance", "disclosure.toml")


def _contexts() -> dict[str, dict[str, Any]]:
    return dict(disclosure_templates().get("contexts", {}))


# "other" is the wording that fits anywhere when no (known) context was given: not a choice.
CONTEXTS: tuple[str, ...] = tuple(slug for slug in _contexts() if slug != "other")


def context_slug(word: str | None) -> str | None:
    """'CV', 'slack', 'Passport', 'company page' -> resume, chat-avatar, government-id,
    company-page; None for a word that names no context."""
    key = (word or "").strip().lower().replace(" ", "-").replace("_", "-")
    key = str(disclosure_templates().get("aliases", {}).get(key, key))
    return key if key in CONTEXTS else None


def context_label(slug: str | None) -> str:
    """'government-id' -> 'Government ID'; no context -> ''; an unknown slug as given."""
    spec = _contexts().get(slug or "other")
    return str(spec.get("label", slug)) if spec is not None else str(slug)


def context_name(slug: str | None) -> str:
    """'chat-avatar' -> 'a Slack or Discord avatar'; an unknown slug as given."""
    spec = _contexts().get(slug or "other")
    return str(spec.get("name", slug)) if spec is not None else str(slug)
