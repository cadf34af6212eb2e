"""Guidance: the knowledge base, question answering and disclosure suggestions.

Public interface used by the core (bot.core.compose) and the CLI:

    guide = get_guide()
    guide.answer(question) -> Answer
    guide.passages_for(label, context, k=3) -> list[Passage]
    guide.disclosure(context | None, label, generator=None, edit_only=False) -> Disclosure
    CONTEXTS: tuple[str, ...];  context_label(slug) / context_name(slug): how people read them;
    context_slug(word): the context a word people type names ("CV" -> resume), or None

The content lives in config/guidance/ (see docs/guidance.md); modules: knowledge (loader),
text + retrieval (search), answering, selection (passages for a verdict), disclosure.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Any

from bot.analysis.pipeline.verdict import Label
from bot.guidance.answering import Answerer
from bot.guidance.contexts import (
    context_label,
    context_name,
    context_slug,
    disclosure_templates,
)
from bot.guidance.disclosure import build_disclosure, normalise_context
from bot.guidance.knowledge import Knowledge, load_knowledge
from bot.guidance.models import CONTEXTS, LABELS, Answer, Disclosure, Passage
from bot.guidance.selection import passages_for

__all__ = [
    "CONTEXTS",
    "LABELS",
    "Answer",
    "Disclosure",
    "Guide",
    "Passage",
    "context_label",
    "context_name",
    "context_slug",
    "get_guide",
]


class Guide:
    def __init__(
        self, knowledge: Knowledge | None = None, templates: dict[str, Any] | None = None
    ) -> None:
        self.knowledge = knowledge or load_knowledge()
        self.templates = templates or disclosure_templates()

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.knowledge)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self.knowledge.passages

    def answer(self, question: str) -> Answer:
        return self.answerer.answer(question)

    def passages_for(self, label: Label, context: str | None, k: int = 3) -> list[Passage]:
        ctx = normalise_context(context) if context else None
        limit = int(self.knowledge.settings["verdict"]["max_chars"])
        return passages_for(self.knowledge.passages, label, ctx, k, limit)

    def disclosure(
        self,
        context: str | None,
        label: Label,
        generator: str | None = None,
        edit_only: bool = False,
        gps: bool = False,
        serial: bool = False,
    ) -> Disclosure:
        return build_disclosure(self.templates, context, label, generator, edit_only, gps, serial)


@lru_cache(maxsize=1)
def get_guide() -> Guide:
    return Guide()
